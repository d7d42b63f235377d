package agent

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// benchSim starts a simulated ECU on 127.0.0.1 and returns an ECU object pointing at it.
func benchSim(b *testing.B) *v1alpha1.ECU {
	sim, err := ecusim.New(ecusim.Config{Listen: "127.0.0.1:0"})
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
	ecu := benchSim(b)
	ctx := context.Background()
	ep, err := endpointFor(ctx, nil, ecu)
	if err != nil {
		b.Fatal(err)
	}
	ep.client.Hook = hook
	s, err := openSession(ctx, ep, defaultActiveDeadline, logr.Discard())
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
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
	ecu := benchSim(b)
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
