package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/scheme"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// Lease timing of the soak's agents and controller, as in test/e2e: a killed process is
// noticed within seconds, a live one on a loaded machine keeps its lease.
const (
	agentLease   = "8s"
	agentRenew   = "1s"
	leaderLease  = "10s"
	agentMaxJobs = "4"
	namespace    = "soak"
	// simLogicalAddress is every simulator's logical address; each has a port of its own.
	simLogicalAddress = 0x00E0
	simReadyLog       = "ECU simulator ready"
	// simConfig slows each TransferData answer down, so that a flash takes about a second and
	// faults land in the middle of transfers too.
	simConfig = "flash:\n  blockDelay: 20ms\n"
)

// rig is the soak's fleet: the control plane, the controller, the agents and the simulators,
// each a process of its own, and an admin client of the API server.
type rig struct {
	t   *testing.T
	ps  *procs
	k8s client.WithWatch
	mu  sync.Mutex // guards the stream's job list against the injector's reads

	controller *proc
	agents     []*agent
	sims       []*sim
}

// agent is one `ecufleet agent` process.
type agent struct {
	name string
	proc *proc
}

// sim is one `ecufleet ecusim` process and the ECU object that points at it.
type sim struct {
	ecu, vin      string
	port          int
	autoReconnect bool
	proc          *proc
	down          []window // from each kill until the restarted simulator was ready
}

// window is a span of time.
type window struct{ from, to time.Time }

// newRig builds bin/ecufleet into dir and starts the control plane with `ecufleet dev`.
func newRig(ctx context.Context, t *testing.T, dir string) *rig {
	r := &rig{t: t, ps: newProcs(filepath.Join(dir, "ecufleet"), dir)}
	t.Log("Building ecufleet")
	if out, err := command(ctx, "go", "build", "-o", r.ps.Bin, "../../cmd/ecufleet"); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Log("Starting the control plane: ecufleet dev --agents 0 --sims 0 --no-controller")
	dev := r.ps.start(t, "dev", syscall.SIGTERM, "dev", "--agents", "0", "--sims", "0", "--no-controller",
		"--kubeconfig-out", r.ps.kubeconfig, "--log-file", "-")
	r.await(ctx, dev, "Local control plane ready", 3*time.Minute)
	cfg, err := clientcmd.BuildConfigFromFlags("", r.ps.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	s, err := scheme.New()
	if err != nil {
		t.Fatal(err)
	}
	if r.k8s, err = client.NewWithWatch(cfg, client.Options{Scheme: s}); err != nil {
		t.Fatal(err)
	}
	if err := r.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// await fails the test when p does not log text within timeout.
func (r *rig) await(ctx context.Context, p *proc, text string, timeout time.Duration) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.AwaitLog(ctx, text); err != nil {
		r.t.Fatal(err)
	}
}

// startController runs `ecufleet controller` with leader election; a successor of a killed
// one waits for the dead leader's Lease to expire.
func (r *rig) startController() {
	r.controller = r.ps.start(r.t, "controller", syscall.SIGKILL, "controller", "--kubeconfig", r.ps.kubeconfig,
		"--leader-elect", "--leader-elect-lease-duration", leaderLease,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
}

// startAgent runs `ecufleet agent` a (again, after a kill) under its name.
func (r *rig) startAgent(a *agent) {
	a.proc = r.ps.start(r.t, a.name, syscall.SIGKILL, "agent", "--name", a.name,
		"--lease-duration", agentLease, "--renew-interval", agentRenew, "--max-concurrent-jobs", agentMaxJobs)
}

// startAgents starts n agents and waits until each registered.
func (r *rig) startAgents(ctx context.Context, n int) {
	for i := range n {
		a := &agent{name: fmt.Sprintf("soak-agent-%d", i)}
		r.startAgent(a)
		r.agents = append(r.agents, a)
	}
	for _, a := range r.agents {
		r.await(ctx, a.proc, "Agent registered", 2*time.Minute)
	}
}

// startSims starts n simulators on free ports, each with its VIN, its EID and every request
// logged, and creates their ECU objects (ecu-0, ...; the odd ones with autoReconnect).
func (r *rig) startSims(ctx context.Context, n int) {
	config := filepath.Join(r.ps.Dir, "sim.yaml")
	if err := os.WriteFile(config, []byte(simConfig), 0o600); err != nil {
		r.t.Fatal(err)
	}
	for i := range n {
		s := &sim{ecu: fmt.Sprintf("ecu-%d", i), vin: fmt.Sprintf("ECUFLEETSOAK%05d", i), port: freePort(r.t), autoReconnect: i%2 == 1}
		r.sims = append(r.sims, s)
		r.launch(s, config)
		if err := s.proc.AwaitLog(ctx, simReadyLog); err != nil {
			r.t.Fatal(err)
		}
		ecu := builders.MakeECU(s.ecu, namespace).Port(int32(s.port)).Probe(diagv1.ProbeEntityStatus).ProbeTiming(1, 1, 2)
		if s.autoReconnect {
			ecu.AutoReconnect()
		}
		if err := r.k8s.Create(ctx, ecu.Obj()); err != nil {
			r.t.Fatal(err)
		}
	}
}

// launch starts the simulator process on its port (the ECU object points there).
func (r *rig) launch(s *sim, config string) {
	eid := fmt.Sprintf("02:50:AC:%02X:%02X:%02X", byte(s.port>>16), byte(s.port>>8), byte(s.port))
	s.proc = r.ps.start(r.t, "sim-"+s.ecu, syscall.SIGKILL, "ecusim", "--config", config, "-v", "1",
		"--listen", fmt.Sprintf("127.0.0.1:%d", s.port), "--logical-address", fmt.Sprint(simLogicalAddress),
		"--vin", s.vin, "--eid", eid)
}

// waitECUsReady waits until the controller marks every ECU Ready.
func (r *rig) waitECUsReady(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, s := range r.sims {
		for {
			e := &diagv1.ECU{}
			err := r.k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: s.ecu}, e)
			if err == nil && meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady) {
				break
			}
			if time.Now().After(deadline) {
				r.t.Fatalf("ECU %s not Ready after %v: %v %v", s.ecu, timeout, err, e.Status.Conditions)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// freePort returns a port free for TCP and UDP on 127.0.0.1 right now, as a simulator needs both.
func freePort(t *testing.T) int {
	port, err := ecusim.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return port
}
