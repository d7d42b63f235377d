package scale

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/benchstat"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/proctest"
	"github.com/ecufleet/ecufleet/internal/scheme"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// Sizes of BenchmarkFleetScale, settable with -args -scale.ecus=N ...
var (
	scaleECUs     = flag.Int("scale.ecus", 10000, "ECUs served by the simulated agents")
	scaleAgents   = flag.Int("scale.agents", 100, "simulated agents (they finish each job at once)")
	scaleFinished = flag.Int("scale.finished", 50000, "finished jobs present")
	scaleQueued   = flag.Int("scale.queued", 5000, "jobs waiting in queues (of cordoned ECUs)")
	scaleSerial   = flag.Int("scale.serial", 30, "jobs created one at a time on free ECUs, per latency round")
	scaleProbed   = flag.Int("scale.probed", 100, "simulated ECUs one real agent probes at the default period")
	scaleWindow   = flag.Duration("scale.probe-window", 2*time.Minute, "how long the real agent's CPU is measured")
	scalePprof    = flag.String("scale.pprof", "", "write a CPU profile of the controller during the last latency round to this file, and one of its allocations to this file.allocs")
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// BenchmarkFleetScale runs `ecufleet controller` as a process against a local control plane
// (`ecufleet dev --no-controller`) holding scale.ecus ECUs served by scale.agents simulated
// agents, and measures the controller's memory and the create-to-Scheduled latency on a free
// ECU three times: with no finished job, with scale.finished finished jobs (created while the
// controller is stopped, then the controller restarted), and with scale.queued jobs waiting as
// well. Then one real `ecufleet agent` probes scale.probed simulated ECUs at the default period,
// and its memory and CPU are measured. Run it with -benchtime 1x (make bench-scale).
func BenchmarkFleetScale(b *testing.B) {
	for b.Loop() {
		runScale(b)
	}
}

func runScale(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	dir := b.TempDir()
	bin := filepath.Join(dir, "ecufleet")
	logf("Building bin/ecufleet")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/ecufleet").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	logf("Starting the control plane (ecufleet dev --no-controller)")
	g := &proctest.Group{Bin: bin, Dir: dir, Env: []string{"KUBECONFIG=" + kubeconfig}}
	defer g.StopAll(b.Logf)
	dev := start(b, g, "dev", "dev", "--agents", "0", "--sims", "0", "--no-controller", "--kubeconfig-out", kubeconfig)
	await(ctx, b, dev, "Local control plane ready")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // unthrottled: the API server is what is measured against
	s, err := scheme.New()
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: s})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "scale"}}); err != nil {
		b.Fatal(err)
	}
	// The simulated agents stop before the control plane does (defers run last-in, first-out).
	ctx, stopFleet := context.WithCancel(ctx)
	defer stopFleet()
	f := &fleet{c: c, ns: "scale", pool: map[string]string{"pool": "scale"}}
	f.startAgents(ctx, b, *scaleAgents)
	f.createECUs(ctx, b, *scaleECUs)
	f.serve(ctx)

	pprofAddr, metricsAddr := freeAddr(b), ""
	startController := func() *proc {
		metricsAddr = freeAddr(b)
		p := start(b, g, "controller", "controller", "--metrics-bind-address", metricsAddr,
			"--health-probe-bind-address", freeAddr(b), "--pprof-bind-address", pprofAddr)
		await(ctx, b, p, "Starting workers")
		return p
	}
	// measured is a latency round with the scheduler's passes and the CPU it cost. ctl is
	// the controller of the moment (it is restarted between rounds).
	var ctl *proc
	measured := func(prefix string, first int) ([]time.Duration, passes) {
		before := schedulerPasses(ctx, b, metricsAddr)
		cost := startCost(ctl, dev)
		d := f.latency(ctx, b, prefix, *scaleSerial, first)
		ps := schedulerPasses(ctx, b, metricsAddr).since(before)
		ps.cost = cost.since(ctl, dev, len(d))
		return d, ps
	}
	logf("Starting the controller")
	ctl = startController()
	readyIn := f.waitReady(ctx, b, *scaleECUs)
	logf("  all %d ECUs Ready %v after the controller started", *scaleECUs, readyIn.Round(time.Second))
	baseline, passesEmpty := measured("free-empty", 0)
	memEmpty := memoryOf(ctl)
	logf("  create->Scheduled with no finished job: p50 %.1f ms; controller RSS %.0f MiB; %v", benchstat.Millis(benchstat.Percentile(baseline, 50)), mib(memEmpty.rss), passesEmpty)

	logf("Stopping the controller and creating %d finished jobs", *scaleFinished)
	ctl.Stop(30 * time.Second)
	parallel(ctx, b, "finished jobs created", *scaleFinished, func(i int) error {
		j := builders.MakeJob(fmt.Sprintf("done-%06d", i), f.ns).ECU(ecuName(i % *scaleECUs)).Step(builders.ReadDID("vin", 0xF190)).Obj()
		if err := c.Create(ctx, j); err != nil {
			return err
		}
		u := j.DeepCopy()
		u.Status.ECU, u.Status.Attempts = ecuName(i%*scaleECUs), 1
		succeed(u, time.Now())
		return c.Status().Patch(ctx, u, client.MergeFrom(j))
	})
	logf("Restarting the controller")
	restart := time.Now()
	ctl = startController()
	startedIn := time.Since(restart)
	withFinished, passesFinished := measured("free-finished", *scaleSerial)
	memFinished := memoryOf(ctl)
	logf("  create->Scheduled with %d finished jobs: p50 %.1f ms; controller RSS %.0f MiB; %v", *scaleFinished, benchstat.Millis(benchstat.Percentile(withFinished, 50)), mib(memFinished.rss), passesFinished)

	cordoned := min(*scaleECUs/20, 500)
	logf("Cordoning %d ECUs and queueing %d jobs for them", cordoned, *scaleQueued)
	parallel(ctx, b, "ECUs cordoned", cordoned, func(i int) error {
		e := &diagv1.ECU{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: ecuName(*scaleECUs - 1 - i)}, e); err != nil {
			return err
		}
		u := e.DeepCopy()
		u.Spec.Unschedulable = true
		return c.Patch(ctx, u, client.MergeFrom(e))
	})
	parallel(ctx, b, "jobs queued", *scaleQueued, func(i int) error {
		return c.Create(ctx, builders.MakeJob(fmt.Sprintf("wait-%05d", i), f.ns).ECU(ecuName(*scaleECUs-1-i%cordoned)).Step(builders.ReadDID("vin", 0xF190)).Obj())
	})
	f.waitQueued(ctx, b, *scaleQueued)
	profiled := profileController(ctx, pprofAddr, *scalePprof)
	withQueued, passesQueued := measured("free-queued", 2**scaleSerial)
	if err := profiled(); err != nil {
		b.Errorf("profiling the controller: %v", err)
	}
	memQueued := memoryOf(ctl)

	// The controller stays up: it is what assigns the probed ECUs to the agent.
	agentMem, agentCPU := probeAgent(ctx, b, g, c)
	ctl.Stop(30 * time.Second)

	fmt.Fprintf(os.Stderr, "\nFleet scale: %d ECUs, %d simulated agents, %d finished jobs, %d queued (on %d cordoned ECUs), %d jobs per latency round\n",
		*scaleECUs, *scaleAgents, *scaleFinished, *scaleQueued, cordoned, *scaleSerial)
	fmt.Fprintf(os.Stderr, "  all ECUs Ready after the controller started      %v\n", readyIn.Round(time.Second))
	fmt.Fprintf(os.Stderr, "  controller restart with %d finished jobs to Starting workers  %v\n", *scaleFinished, startedIn.Round(100*time.Millisecond))
	row := func(what string, d []time.Duration, m memory, ps passes) {
		fmt.Fprintf(os.Stderr, "  %-34s create->Scheduled p50 %6.1f ms  p99 %6.1f ms   controller RSS %5.0f MiB (peak %5.0f MiB)   %v\n",
			what, benchstat.Millis(benchstat.Percentile(d, 50)), benchstat.Millis(benchstat.Percentile(d, 99)), mib(m.rss), mib(m.peak), ps)
	}
	row("no finished job", baseline, memEmpty, passesEmpty)
	row(fmt.Sprintf("%d finished", *scaleFinished), withFinished, memFinished, passesFinished)
	row(fmt.Sprintf("%d finished, %d queued", *scaleFinished, *scaleQueued), withQueued, memQueued, passesQueued)
	fmt.Fprintf(os.Stderr, "  agent probing %d ECUs at the default period: RSS %.0f MiB, CPU %.2f%% of one core over %v\n\n",
		*scaleProbed, mib(agentMem.rss), 100*agentCPU.Seconds()/scaleWindow.Seconds(), *scaleWindow)
	b.ReportMetric(benchstat.Millis(benchstat.Percentile(withQueued, 50)), "free-p50-ms")
	b.ReportMetric(mib(memQueued.rss), "controller-MiB")
}

// waitQueued waits until n jobs of the namespace are Queued, reading them in pages: one list
// of 55,000 jobs outlasts the API server's request timeout on a busy machine.
func (f *fleet) waitQueued(ctx context.Context, b *testing.B, n int) {
	for start := time.Now(); ; {
		queued, cont := 0, ""
		for {
			var list diagv1.DiagnosticJobList
			if err := f.c.List(ctx, &list, client.InNamespace(f.ns), client.Limit(500), client.Continue(cont)); err != nil {
				b.Fatal(err)
			}
			for _, j := range list.Items {
				if j.Status.Phase == diagv1.JobQueued {
					queued++
				}
			}
			if cont = list.Continue; cont == "" {
				break
			}
		}
		if queued >= n {
			return
		}
		if time.Since(start) > 15*time.Minute {
			b.Fatalf("only %d of %d jobs became Queued", queued, n)
		}
		time.Sleep(2 * time.Second)
	}
}

// probeAgent runs one real agent for scale.probed simulated ECUs (in this process, on
// 127.0.0.1) with the default probe, and returns its memory and CPU time over scale.probe-window.
func probeAgent(ctx context.Context, b *testing.B, g *proctest.Group, c client.Client) (memory, time.Duration) {
	logf("Starting %d simulated ECUs and one agent probing them", *scaleProbed)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}); err != nil {
		b.Fatal(err)
	}
	pool := map[string]string{"pool": "probe"}
	for i := range *scaleProbed {
		sim, err := ecusim.New(ecusim.Config{Listen: "127.0.0.1:0", VIN: fmt.Sprintf("WVWZZZ1JZXW%06d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if err := sim.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = sim.Shutdown(context.Background()) })
		_, port, _ := net.SplitHostPort(sim.Addr().String())
		p, _ := strconv.Atoi(port)
		if err := c.Create(ctx, builders.MakeECU(fmt.Sprintf("sim-%03d", i), "probe").Port(int32(p)).AgentSelector(pool).Obj()); err != nil {
			b.Fatal(err)
		}
	}
	agent := start(b, g, "agent", "agent", "--name", "probe-agent", "--label", "pool=probe")
	defer agent.Stop(30 * time.Second)
	await(ctx, b, agent, "Agent registered")
	for start := time.Now(); ; time.Sleep(time.Second) {
		var list diagv1.ECUList
		if err := c.List(ctx, &list, client.InNamespace("probe")); err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, e := range list.Items {
			if meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReachable) {
				n++
			}
		}
		if n == *scaleProbed {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d ECUs became Reachable", n, *scaleProbed)
		}
	}
	before := cpuOf(agent)
	time.Sleep(*scaleWindow)
	return memoryOf(agent), cpuOf(agent) - before
}

// profileController starts a 20 s CPU profile of the controller into file ("": none), and a profile
// of what it allocates in the same 20 s into file.allocs; the function it returns waits for both.
func profileController(ctx context.Context, addr, file string) func() error {
	if file == "" {
		return func() error { return nil }
	}
	done := make(chan error, 2)
	fetch := func(path, to string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			done <- err
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(to, data, 0o644)
		}
		done <- err
	}
	go fetch("/debug/pprof/profile?seconds=20", file)
	go fetch("/debug/pprof/allocs?seconds=20", file+".allocs")
	return func() error { return errors.Join(<-done, <-done) }
}

// passes is how many scheduling passes the controller made and how long they took in all,
// from controller-runtime's reconcile time histogram of the scheduler (one pass per namespace).
type passes struct {
	count int
	total time.Duration
	cost  roundCost
}

func (p passes) since(before passes) passes {
	return passes{count: p.count - before.count, total: p.total - before.total}
}

// roundCost is the CPU a latency round cost, per job: the controller's, the control plane's
// (API server and etcd) and this process's (the simulated agents and the test's client), so
// a slower round shows which of them grew.
type roundCost struct {
	controller, plane, tester time.Duration
}

// startCost reads the CPU counters at a round's start.
func startCost(ctl, dev *proc) roundCost {
	return roundCost{controller: cpuOf(ctl), plane: treeCPU(dev), tester: pidCPU(os.Getpid())}
}

// since is the CPU per job of the n jobs of the round that started at c.
func (c roundCost) since(ctl, dev *proc, n int) roundCost {
	per := func(now, then time.Duration) time.Duration { return (now - then) / time.Duration(max(n, 1)) }
	return roundCost{controller: per(cpuOf(ctl), c.controller), plane: per(treeCPU(dev), c.plane), tester: per(pidCPU(os.Getpid()), c.tester)}
}

func (c roundCost) String() string {
	return fmt.Sprintf("CPU per job: controller %.1f ms, control plane %.1f ms, test %.1f ms",
		benchstat.Millis(c.controller), benchstat.Millis(c.plane), benchstat.Millis(c.tester))
}

func (p passes) String() string {
	if p.count == 0 {
		return "no scheduling pass"
	}
	return fmt.Sprintf("%d scheduling passes, mean %.1f ms; %v", p.count, benchstat.Millis(p.total/time.Duration(p.count)), p.cost)
}

// schedulerPasses reads the scheduler's pass count and time from the controller's metrics.
func schedulerPasses(ctx context.Context, b *testing.B, addr string) passes {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("reading the controller's metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("reading the controller's metrics: %v", err)
	}
	var p passes
	const series = `controller_runtime_reconcile_time_seconds_%s{controller="diagnosticjob-scheduler"}`
	sum, count := fmt.Sprintf(series, "sum"), fmt.Sprintf(series, "count")
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch name {
		case sum:
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				b.Fatalf("metric %s: %v", line, err)
			}
			p.total = time.Duration(v * float64(time.Second))
		case count:
			if p.count, err = strconv.Atoi(value); err != nil {
				b.Fatalf("metric %s: %v", line, err)
			}
		}
	}
	return p
}
