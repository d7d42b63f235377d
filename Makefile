# ecufleet: everything a fresh machine needs is built from Go source by these targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

BIN              := $(CURDIR)/bin
K8S_ASSETS       := $(BIN)/k8s
CONTROLLER_GEN   := $(BIN)/controller-gen
CONTROLLER_TOOLS := v0.23.0
VERSION          ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
LDFLAGS          := -X github.com/ecufleet/ecufleet/internal/version.Version=$(VERSION)
# A count, not a duration: go1.26's fuzz coordinator can fail a run that ends on its
# -fuzztime deadline with "context deadline exceeded" and no crasher (golang/go#75804, fixed
# in go1.27). 100000 inputs take 4-40 s per target here.
FUZZTIME         ?= 100000x
# Generated files: regenerated and compared by verify-generated.
GENERATED        := config/crd/bases config/rbac api/v1alpha1/zz_generated.deepcopy.go

.PHONY: e2e all build test unit verify-generated vet fmt-check fuzz bench-doip bench-scheduler bench-scale soak \
        manifests generate envtest-bins demo dev clean help install-kubectl-plugin

all: build

help: ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build bin/ecufleet.
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/ecufleet ./cmd/ecufleet

PREFIX           ?= /usr/local
install-kubectl-plugin: build ## Link PREFIX/bin/kubectl-ecufleet (PREFIX default /usr/local) to bin/ecufleet: `kubectl ecufleet run ...`.
	mkdir -p $(PREFIX)/bin
	ln -sf $(BIN)/ecufleet $(PREFIX)/bin/kubectl-ecufleet
	@echo "Installed $(PREFIX)/bin/kubectl-ecufleet; with $(PREFIX)/bin on the PATH, try: kubectl ecufleet --help"

envtest-bins: ## Build etcd and kube-apiserver from Go source into bin/k8s (once; about 4-10 minutes).
	@if [[ -n "$${KUBEBUILDER_ASSETS:-}" ]]; then echo "Using KUBEBUILDER_ASSETS=$$KUBEBUILDER_ASSETS"; \
	else bash internal/devcluster/build-k8s.sh $(K8S_ASSETS); fi

$(CONTROLLER_GEN):
	@echo "Building controller-gen $(CONTROLLER_TOOLS) from its Go module"
	GOBIN=$(BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS)

manifests: $(CONTROLLER_GEN) ## Regenerate CRDs and RBAC from the markers.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=ecufleet-controller paths=./controllers/... output:rbac:artifacts:config=config/rbac/controller

generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code.
	$(CONTROLLER_GEN) object paths=./api/...

verify-generated: ## Fail when a generated file is stale.
	@before=$$(find $(GENERATED) -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum); \
	$(MAKE) --no-print-directory manifests generate >/dev/null; \
	after=$$(find $(GENERATED) -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum); \
	if [[ "$$before" != "$$after" ]]; then \
	  diff <(echo "$$before") <(echo "$$after") || true; \
	  echo "Generated files were stale and have now been regenerated: review and commit them."; exit 1; fi; \
	echo "Generated files are up to date"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: fmt-check ## gofmt and go vet.
	go vet ./...

unit: ## Fast tests without the control plane.
	go test -count=1 ./pkg/...

test: verify-generated vet envtest-bins ## The test command: every test, on a real API server, plus short fuzz runs.
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$(K8S_ASSETS)} go test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz

fuzz: ## Run each fuzz target for FUZZTIME (default 100000x, i.e. 100000 inputs; a duration works too).
	@grep -H '^func Fuzz' $$(find . -name '*_test.go' -not -path './bin/*') \
	  | sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*).*#\1 \2#' | sort -u \
	  | while read -r dir target; do \
	      echo "Fuzzing ./$$dir $$target for $(FUZZTIME)"; \
	      go test ./$$dir -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) </dev/null; \
	    done

e2e: envtest-bins ## The end-to-end tests alone (real processes; part of make test).
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$(K8S_ASSETS)} go test -count=1 -timeout 15m ./test/e2e/...

DOIPBENCH_ARGS   ?=
bench-doip: ## DoIP benchmarks: in-process encode/decode and round trips, then the whole stack (doip send against ecusim, two processes) beside a raw two-process TCP echo, with the ratio, on one CPU, on two and unpinned. Profiles: DOIPBENCH_ARGS='-doipbench.profile DIR'.
	go test ./pkg/doip -run '^$$' -bench . -benchmem -count 5
	go test ./test/doipbench -run '^$$' -bench BenchmarkWholeStack -benchtime 1x -timeout 20m -args $(DOIPBENCH_ARGS)

bench-scheduler: envtest-bins ## Scheduler throughput and latency against raw status writes, on a real API server.
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$(K8S_ASSETS)} go test ./controllers/ -run '^$$' -bench BenchmarkScheduler -benchtime 1x -timeout 20m

SCALE_ARGS       ?=
bench-scale: envtest-bins ## Fleet scale (not in CI; about 20 minutes): 10,000 ECUs, 100 agents, 50,000 finished and 5,000 queued jobs. Sizes: SCALE_ARGS='-scale.ecus=1000 ...'.
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$(K8S_ASSETS)} go test ./test/scale/ -run '^$$' -bench BenchmarkFleetScale -benchtime 1x -timeout 2h -args $(SCALE_ARGS)

SOAK_DURATION    ?= 20m
SOAK_ARGS        ?=
soak: envtest-bins ## Soak (not in CI): SOAK_DURATION (20m) of jobs and flashes while agents, simulators and the controller are SIGKILLed at random; fails on a double booking or a lost or duplicated result. More flags: SOAK_ARGS='-soak.seed=N ...'.
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$(K8S_ASSETS)} go test ./test/soak -run TestSoak -count=1 -timeout 3h -v -args -soak.duration=$(SOAK_DURATION) $(SOAK_ARGS)

demo: build envtest-bins ## The main job on a local embedded control plane.
	$(BIN)/ecufleet demo

dev: build envtest-bins ## A local control plane with agents and simulated ECUs, until Ctrl-C.
	$(BIN)/ecufleet dev

clean:
	rm -rf $(BIN)/ecufleet $(BIN)/dev
