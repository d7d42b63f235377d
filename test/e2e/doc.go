// Package e2e tests ecufleet as it runs in a lab: separate processes for the control plane
// (`ecufleet dev --no-controller`), the controller, the node agents and the simulated ECUs,
// killed and restarted while jobs run, and the API server stopped under them. Run it with `go test ./test/e2e/... -count=1`; it needs
// the envtest binaries (KUBEBUILDER_ASSETS, or bin/k8s built by `make envtest-bins`).
package e2e
