package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/benchstat"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// benchSim starts a simulated ECU of cfg on 127.0.0.1 and returns an ECU object pointing at it.
func benchSim(b *testing.B, cfg ecusim.Config) *v1alpha1.ECU {
	cfg.Listen = "127.0.0.1:0"
	sim, err := ecusim.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Shutdown(context.Background()) })
	port := int32(sim.Addr().(*net.TCPAddr).Port)
	return &v1alpha1.ECU{ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "default"},
		Spec: v1alpha1.ECUSpec{Address: "127.0.0.1", Port: port, LogicalAddress: 0x00E0}}
}

// BenchmarkStep is one readDataByIdentifier step as the runner performs it, without the API
// writes: the exchange through the job's session (UDS client, DoIP connection), the judgement
// of the expectation and the recording of the result in hex.
func BenchmarkStep(b *testing.B) { benchStep(b, nil) }

// benchStep runs BenchmarkStep's loop with hook (nil: none) seeing the connection's frames.
func benchStep(b *testing.B, hook doip.FrameHook) {
	s := benchSession(b, benchSim(b, ecusim.Config{}), 0, hook)
	ctx := context.Background()
	value := "ECUFLEETSIM000001"
	step := &v1alpha1.Step{Name: "read-vin", UDS: &v1alpha1.UDSAction{ReadDataByIdentifier: &v1alpha1.DIDRef{DID: 0xF190}},
		Expect: &v1alpha1.Expectation{Value: &value}}
	at := &attempt{steps: make([]v1alpha1.StepStatus, 1)}
	b.ReportAllocs()
	for b.Loop() {
		o := perform(ctx, s, step)
		v := judgeStep(step.Expect, o)
		at.record(0, o, v, 0)
		if !v.passed {
			b.Fatal(v.message)
		}
	}
}

// BenchmarkBareExchange is the same request with pkg/uds and pkg/doip alone, the floor
// BenchmarkStep is compared with.
func BenchmarkBareExchange(b *testing.B) {
	ecu := benchSim(b, ecusim.Config{})
	ctx := context.Background()
	c := doip.Client{}
	conn, err := c.Dial(ctx, net.JoinHostPort(ecu.Spec.Address, strconv.Itoa(int(ecu.Spec.Port))))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := uds.NewClient(conn, 0x00E0)
	req := uds.ReadDataByIdentifier(uds.DIDVIN)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Request(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlashPath flashes 16 MiB into the simulator three ways, one after the other in
// each iteration, with blocks of 4 KiB and of 64 KiB less 3 bytes (the most a 74 answer's
// two-byte maxNumberOfBlockLength allows): as `ecufleet doip download` does (a bare
// doip.Conn and uds.Client), and as the agent does (the job's session, its progress callback
// and, with spec.trace OnFailure or Always, the job's tracer on every frame). It reports each
// one's microseconds per block; the agent's are not to exceed the command's (issue 14, goal 2).
func BenchmarkFlashPath(b *testing.B) {
	for _, block := range []int{4096, 0xFFFF - 2} {
		b.Run(fmt.Sprintf("%dKiB", (block+1023)>>10), func(b *testing.B) { flashPath(b, block) })
	}
}

// flashPath is BenchmarkFlashPath with blocks of block bytes.
func flashPath(b *testing.B, block int) {
	const size = 16 << 20
	blocks := float64((size + block - 1) / block)
	image := make([]byte, size)
	ecu := benchSim(b, ecusim.Config{UDS: ecusim.UDS{Security: &ecusim.Security{Levels: []int{}},
		Flash: ecusim.Flash{MaxNumberOfBlockLength: block + 2}}})
	ctx := context.Background()
	c := doip.Client{TesterAddress: 0x0E80} // each of the three is a tester of its own
	conn, err := c.Dial(ctx, net.JoinHostPort(ecu.Spec.Address, strconv.Itoa(int(ecu.Spec.Port))))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	bare := uds.NewClient(conn, 0x00E0)
	untraced := benchSession(b, ecu, 0x0E81, nil)
	// Each flash records into a new tracer, as each attempt does: one tracer for every
	// iteration would fill its budget and then only count frames.
	tr := &nextTracer{}
	traced := benchSession(b, ecu, 0x0E82, tr)
	at := &attempt{steps: make([]v1alpha1.StepStatus, 1)}
	// flash returns the microseconds per block, of the clock and of the process's CPU (the
	// simulator's share included, the same for all three).
	flash := func(c *uds.Client, progress func(uds.DownloadProgress)) (wall, cpu float64) {
		start, cpu0 := time.Now(), processCPU()
		if _, err := c.Request(ctx, []byte{0x10, 0x02}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Download(ctx, 0, image, uds.DownloadOptions{Progress: progress}); err != nil {
			b.Fatal(err)
		}
		return float64(time.Since(start).Microseconds()) / blocks, float64((processCPU() - cpu0).Microseconds()) / blocks
	}
	// The agent's per-block progress work (download.go's update): the step's transfer status.
	agentProgress := func(p uds.DownloadProgress) {
		t := v1alpha1.TransferStatus{Bytes: p.Bytes, Blocks: int64(p.Blocks), TotalBytes: size}
		at.steps[0].Transfer = &t
	}
	paths := []struct {
		name      string
		c         *uds.Client
		progress  func(uds.DownloadProgress)
		wall, cpu []float64
	}{
		{name: "cli", c: bare, progress: func(uds.DownloadProgress) {}},
		{name: "agent", c: untraced.uds, progress: agentProgress},
		{name: "agent-traced", c: traced.uds, progress: agentProgress},
	}
	for b.Loop() {
		for i := range paths {
			p := &paths[i]
			if p.c == traced.uds {
				tr.next(b)
			}
			wall, cpu := flash(p.c, p.progress)
			p.wall, p.cpu = append(p.wall, wall), append(p.cpu, cpu)
		}
	}
	for _, p := range paths {
		b.ReportMetric(benchstat.Median(p.wall), p.name+"-µs/block")
		b.ReportMetric(benchstat.Median(p.cpu), p.name+"-cpu-µs/block")
	}
}

// nextTracer is the FrameHook of BenchmarkFlashPath's traced session: it hands the frames to
// a tracer that next replaces, since the session outlives an attempt's tracer there.
type nextTracer struct{ t *tracer }

// next starts a new OnFailure tracer, as a new attempt does.
func (n *nextTracer) next(b *testing.B) {
	t, err := newTracer(v1alpha1.TraceOnFailure)
	if err != nil {
		b.Fatal(err)
	}
	n.t = t
}

func (n *nextTracer) Frame(f doip.Frame) {
	if n.t != nil {
		n.t.Frame(f)
	}
}

func (n *nextTracer) Conn(e doip.ConnEvent) {
	if n.t != nil {
		n.t.Conn(e)
	}
}

// processCPU is the user and system CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSession opens the job session the agent would for ecu as tester (0: the default), with
// hook seeing its frames.
func benchSession(b *testing.B, ecu *v1alpha1.ECU, tester int32, hook doip.FrameHook) *session {
	ctx := context.Background()
	ecu = ecu.DeepCopy()
	ecu.Spec.TesterAddress = tester
	ep, err := endpointFor(ctx, nil, ecu)
	if err != nil {
		b.Fatal(err)
	}
	ep.client.Hook = hook
	s, err := openSession(ctx, ep, defaultActiveDeadline, logr.Discard())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.close)
	return s
}
