package ecusim

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/internal/benchstat"
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

// flashSize is what BenchmarkFlash writes per iteration: the contract's 16 MiB.
const flashSize = 16 << 20

// BenchmarkFlash flashes 16 MiB into the simulator over loopback TCP with uds.Client.Download
// (one 34, 36 blocks of 4 KiB or of 64 KiB less 3 bytes of data, 37: the 74 answer's two-byte
// maxNumberOfBlockLength caps a whole 36 at 0xFFFF), beside a raw TCP stop-and-wait exchange of
// the same sizes: each block the whole DoIP frame a 36 is on the wire (8 header, 4 addresses,
// 2 SID and counter, the data, sent from the same image in one writev as the stack sends it),
// each answer the 27 bytes of the diagnostic ACK and the 76 response. A third exchange is the
// raw one with a peer that also does the simulated ECU's own work per block (the store into
// flash memory and the CRC-32 the check routine needs), so the stack's cost is told apart from
// the ECU model's. Each iteration runs all three, one after the other, so a shared machine's
// load changes hit them alike; it reports the median MB/s of each and the ratios of the
// medians, the stack's share of the wire's speed (docs/benchmarks.md, "Flashing").
func BenchmarkFlash(b *testing.B) {
	image := make([]byte, flashSize)
	for i := range image {
		image[i] = byte(i * 7)
	}
	for _, block := range []int{4 << 10, 0xFFFF - 2} {
		blocks := (flashSize + block - 1) / block
		b.Run(fmt.Sprintf("%dKiB", (block+1023)>>10), func(b *testing.B) {
			s := startSim(b, Config{UDS: UDS{Security: &Security{Levels: []int{}}, Flash: Flash{MaxNumberOfBlockLength: block + 2}}})
			c := uds.NewClient(dial(b, s), DefaultLogicalAddress)
			ctx := context.Background()
			raw := rawStopAndWait(b, image, block, nil)
			stored := rawStopAndWait(b, image, block, ecuWork(block, blocks))
			var stackMBs, rawMBs, storedMBs []float64
			for b.Loop() {
				t0 := time.Now()
				raw(blocks)
				tStored := time.Now()
				stored(blocks)
				t1 := time.Now()
				if _, err := c.Request(ctx, []byte{0x10, 0x02}); err != nil {
					b.Fatal(err)
				}
				p, err := c.Download(ctx, 0, image, uds.DownloadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if p.Blocks != blocks {
					b.Fatalf("%d blocks, want %d", p.Blocks, blocks)
				}
				rawMBs = append(rawMBs, mbPerSecond(tStored.Sub(t0)))
				storedMBs = append(storedMBs, mbPerSecond(t1.Sub(tStored)))
				stackMBs = append(stackMBs, mbPerSecond(time.Since(t1)))
			}
			stack := benchstat.Median(stackMBs)
			b.ReportMetric(stack, "stack-MB/s")
			b.ReportMetric(benchstat.Median(rawMBs), "raw-MB/s")
			b.ReportMetric(benchstat.Median(storedMBs), "raw+store-MB/s")
			b.ReportMetric(stack/benchstat.Median(rawMBs), "stack/raw")
			b.ReportMetric(stack/benchstat.Median(storedMBs), "stack/raw+store")
		})
	}
}

// rawStopAndWait connects to a stopAndWaitPeer, which calls work with each request, and
// returns the exchange of n blocks of image.
// Each block is read from the image, as the stack's are: sending one buffer again and again
// gave the raw exchange a cache the stack's sender cannot have (it ran 5% faster at 4 KiB
// blocks and 8% at 64 KiB, docs/benchmarks.md). The last block of an image that is not a
// whole number of blocks ends at the image's end.
func rawStopAndWait(b *testing.B, image []byte, block int, work func(req []byte)) func(n int) {
	conn, err := net.Dial("tcp", stopAndWaitPeer(b, 8+4+2+block, 27, work))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	header, answer := make([]byte, 8+4+2), make([]byte, 27)
	var vecs [2][]byte
	var vec net.Buffers // kept, as the link keeps its own, so a block allocates nothing
	return func(n int) {
		for i := range n {
			off := min(i*block, len(image)-block)
			vecs = [2][]byte{header, image[off : off+block]}
			vec = vecs[:]
			if _, err := vec.WriteTo(conn); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(conn, answer); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// mbPerSecond is flashSize moved in d, in MB/s as the testing package counts them (1e6 bytes).
func mbPerSecond(d time.Duration) float64 { return flashSize / d.Seconds() / 1e6 }

// ecuWork is what the simulator does with each 36 of a flash of n blocks of block bytes, for a
// raw peer: flash.program of the block at its address in a 16 MiB flash memory of its own (the
// last block of an image that is not a whole number of blocks ends at the image's end, as
// rawStopAndWait sends it).
func ecuWork(block, n int) func(req []byte) {
	f := &flash{mem: newMemory([]region{{0, flashSize}})}
	i := 0
	return func(req []byte) {
		f.program(uint64(min(i*block, flashSize-block)), req[8+4+2:])
		i = (i + 1) % n
	}
}

// stopAndWaitPeer serves one connection on 127.0.0.1 that reads requests of reqLen bytes,
// hands each to work (unless nil) and answers it with answerLen bytes: the wire's part of a
// flash, without DoIP or UDS.
func stopAndWaitPeer(b *testing.B, reqLen, answerLen int, work func(req []byte)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		req, answer := make([]byte, reqLen), make([]byte, answerLen)
		for {
			if _, err := io.ReadFull(conn, req); err != nil {
				return
			}
			if work != nil {
				work(req)
			}
			if _, err := conn.Write(answer); err != nil {
				return
			}
		}
	}()
	return l.Addr().String()
}
