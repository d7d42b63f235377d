package ecusim

import (
	"context"
	"testing"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// BenchmarkFlashDownload measures 36 blocks of the default size (4088 data bytes) through the
// whole stack on 127.0.0.1, reporting the simulator's download throughput as MB/s.
func BenchmarkFlashDownload(b *testing.B) {
	s := startSim(b, Config{UDS: UDS{Security: &Security{Levels: []int{}}}})
	c := uds.NewClient(dial(b, s), DefaultLogicalAddress)
	ctx := context.Background()
	const data = DefaultMaxNumberOfBlockLength - 2
	for _, req := range [][]byte{{0x10, 0x02}, {0x34, 0x00, 0x44, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF}} {
		if _, err := c.Request(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	block := make([]byte, DefaultMaxNumberOfBlockLength)
	block[0] = 0x36
	b.SetBytes(data)
	b.ReportAllocs()
	written := 0
	for b.Loop() {
		if written+data > 0xFFFFFF { // the announced 16 MiB are full: start a new transfer
			b.StopTimer()
			for _, req := range [][]byte{{0x10, 0x02}, {0x34, 0x00, 0x44, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF}} {
				if _, err := c.Request(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			block[1], written = 0, 0
			b.StartTimer()
		}
		block[1]++
		if _, err := c.Request(ctx, block); err != nil {
			b.Fatal(err)
		}
		written += data
	}
}
