package ecusim

import (
	"context"
	"testing"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// BenchmarkRoundTrip measures one UDS request and response through the whole stack on
// 127.0.0.1: uds.Client, doip.Conn, TCP, doip.Server and the simulator.
func BenchmarkRoundTrip(b *testing.B) {
	s := startSim(b, Config{})
	c := uds.NewClient(dial(b, s), DefaultLogicalAddress)
	ctx := context.Background()
	req := uds.ReadDataByIdentifier(uds.DIDVIN)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Request(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
