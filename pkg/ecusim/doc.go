// Package ecusim is a simulated ECU: a doip.Server in front of one or more scripted UDS
// responders, with the faults a lab needs to test a tester against (response pending chains,
// slow answers, denied routing activations, resets with a boot time, an ECU that stops
// answering, an ECU that refuses everything).
//
// It exists so ecufleet's agent, controller and end-to-end tests, and engineers without a
// bench, can exercise the whole diagnostic path over real sockets. The YAML schema of Config is
// documented in docs/ecusim.md.
package ecusim
