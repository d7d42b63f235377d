package uds_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// flashResponder is a small UDS download target on a real doip.Server: it answers 34 with
// maxNumberOfBlockLength, checks each 36's counter and length, keeps the bytes, and answers
// 37 once every announced byte arrived. Faults are injected by block index.
type flashResponder struct {
	maxBlock  uint64 // maxNumberOfBlockLength it announces
	nrcBlock  int    // block index answered 7F 36 72 (-1: none)
	dropBlock int    // block index whose first answer is never sent (-1: none)
	pendBlock int    // block index answered 7F 36 78 first (-1: none)
	lateBlock int    // block index whose first answer comes after lateDelay (-1: none)
	lateDelay time.Duration

	mu       sync.Mutex
	mem      []byte
	size     uint64
	next     byte // counter expected next
	blocks   int  // blocks accepted
	requests int  // 36 requests received, resends included
	lengths  map[int]bool
	dropped  bool
	exited   bool
}

func newFlashResponder(maxBlock uint64) *flashResponder {
	return &flashResponder{maxBlock: maxBlock, nrcBlock: -1, dropBlock: -1, pendBlock: -1, lateBlock: -1, lengths: map[int]bool{}}
}

func (f *flashResponder) ServeDoIP(ctx context.Context, w doip.ResponseWriter, r *doip.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := r.Data
	switch uds.SID(req[0]) {
	case uds.SIDRequestDownload:
		var rd uds.RequestDownload
		if err := rd.UnmarshalBinary(req); err != nil {
			w.Write([]byte{0x7F, 0x34, 0x13})
			return
		}
		f.mem, f.size, f.next, f.blocks = make([]byte, 0, rd.Memory.Size), rd.Memory.Size, 0x01, 0
		resp, _ := (&uds.RequestDownloadResponse{MaxBlockLength: f.maxBlock}).MarshalBinary()
		w.Write(resp)
	case uds.SIDTransferData:
		f.requests++
		var td uds.TransferData
		if err := td.UnmarshalBinary(req); err != nil {
			w.Write([]byte{0x7F, 0x36, 0x13})
			return
		}
		answer, _ := (&uds.TransferDataResponse{Counter: td.Counter}).MarshalBinary()
		switch {
		case td.Counter == f.next-1 && f.blocks > 0: // the last block again: accept, do not write twice
			w.Write(answer)
			return
		case td.Counter != f.next:
			w.Write([]byte{0x7F, 0x36, 0x73})
			return
		case uint64(len(req)) > f.maxBlock:
			w.Write([]byte{0x7F, 0x36, 0x13})
			return
		case uint64(len(f.mem)+len(td.Data)) > f.size:
			w.Write([]byte{0x7F, 0x36, 0x71})
			return
		case f.blocks == f.nrcBlock:
			w.Write([]byte{0x7F, 0x36, 0x72})
			return
		}
		f.mem = append(f.mem, td.Data...)
		f.lengths[len(td.Data)] = true
		block := f.blocks
		f.blocks++
		f.next++
		if block == f.dropBlock && !f.dropped {
			f.dropped = true
			return
		}
		if block == f.lateBlock {
			time.Sleep(f.lateDelay)
		}
		if block == f.pendBlock {
			w.Write([]byte{0x7F, 0x36, 0x78})
			time.Sleep(50 * time.Millisecond)
		}
		w.Write(answer)
	case uds.SIDRequestTransferExit:
		if uint64(len(f.mem)) != f.size {
			w.Write([]byte{0x7F, 0x37, 0x24})
			return
		}
		f.exited = true
		w.Write([]byte{0x77})
	default:
		w.Write([]byte{0x7F, req[0], 0x11})
	}
}

// dialFlash serves h on a real socket and returns a client for it with a short P2.
func dialFlash(t *testing.T, h doip.Handler) (*uds.Client, context.Context) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &doip.Server{Handler: h, LogicalAddress: 0x00E0}
	go srv.Serve(ln, nil)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	conn, err := (&doip.Client{}).Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := uds.NewClient(conn, 0x00E0)
	c.P2 = 300 * time.Millisecond
	return c, ctx
}

func segment(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestDownloadOneMiB(t *testing.T) {
	f := newFlashResponder(0x0FFA) // 4088 data bytes per block: 1 MiB is 257 blocks
	f.pendBlock = 3
	c, ctx := dialFlash(t, f)
	data := segment(1 << 20)
	var calls int
	var last uds.DownloadProgress
	start := time.Now()
	p, err := c.Download(ctx, 0x00010000, data, uds.DownloadOptions{Progress: func(p uds.DownloadProgress) {
		calls++
		if p.Bytes <= last.Bytes || p.Blocks != last.Blocks+1 || p.TotalBytes != 1<<20 {
			t.Errorf("progress %+v after %+v", p, last)
		}
		last = p
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 MiB in %d blocks over DoIP on 127.0.0.1: %v", p.Blocks, time.Since(start))
	wantBlocks := (1<<20 + 4087) / 4088
	if p.Blocks != wantBlocks || p.Bytes != 1<<20 || calls != wantBlocks {
		t.Errorf("progress %+v with %d callbacks, want %d blocks", p, calls, wantBlocks)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.exited || !bytes.Equal(f.mem, data) {
		t.Errorf("ECU memory differs from the segment (exited %v, %d bytes)", f.exited, len(f.mem))
	}
	if f.blocks <= 255 {
		t.Errorf("%d blocks: the counter never wrapped", f.blocks)
	}
	if !f.lengths[4088] || !f.lengths[(1<<20)%4088] || len(f.lengths) != 2 {
		t.Errorf("block lengths %v, want 4088 and the remainder", f.lengths)
	}
}

func TestDownloadBlockLimits(t *testing.T) {
	f := newFlashResponder(0xFFFF)
	c, ctx := dialFlash(t, f)
	data := segment(10000)
	// The caller's caps win over the ECU's 0xFFFF: the smaller one (1026) gives 1024 data bytes.
	p, err := c.Download(ctx, 0x1000, data, uds.DownloadOptions{MaxBlockLength: 2050, MaxRequestLength: 1026})
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocks != 10 {
		t.Errorf("%d blocks, want 10 of at most 1024 bytes", p.Blocks)
	}
	f.mu.Lock()
	if !f.lengths[1024] || !f.lengths[10000-9*1024] || len(f.lengths) != 2 || !bytes.Equal(f.mem, data) {
		t.Errorf("block lengths %v", f.lengths)
	}
	f.mu.Unlock()

	// A limit that leaves no room for data is refused before any 36.
	_, err = c.Download(ctx, 0x1000, data, uds.DownloadOptions{MaxBlockLength: 2})
	var de *uds.DownloadError
	if !errors.As(err, &de) || de.SID != uds.SIDRequestDownload || !strings.Contains(err.Error(), "at least 3") {
		t.Errorf("MaxBlockLength 2: got %v", err)
	}
	if _, err := c.Download(ctx, 0x1000, nil, uds.DownloadOptions{}); err == nil {
		t.Error("an empty segment was accepted")
	}
}

func TestDownloadNegativeResponseOnBlock(t *testing.T) {
	f := newFlashResponder(0x0102) // 256 data bytes per block
	f.nrcBlock = 300               // past the first wrap: counter 300+1 = 0x2D
	c, ctx := dialFlash(t, f)
	p, err := c.Download(ctx, 0x2000, segment(400*256), uds.DownloadOptions{})
	var de *uds.DownloadError
	var nre *uds.NegativeResponseError
	if !errors.As(err, &de) || !errors.As(err, &nre) {
		t.Fatalf("got %v, want a DownloadError wrapping a negative response", err)
	}
	if de.SID != uds.SIDTransferData || de.Block != 300 || de.Counter != 0x2D || de.Offset != 300*256 || nre.NRC != uds.NRCGeneralProgrammingFailure {
		t.Errorf("error %+v, NRC %v", de, nre.NRC)
	}
	for _, want := range []string{"block 300", "counter 0x2D", "offset 76800", "0x72 generalProgrammingFailure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if p.Blocks != 300 || p.Bytes != 300*256 {
		t.Errorf("progress %+v, want 300 blocks done", p)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.exited {
		t.Error("37 sent after a refused block")
	}
}

func TestDownloadResendsALostAnswer(t *testing.T) {
	f := newFlashResponder(0x0FFA)
	f.dropBlock = 5
	c, ctx := dialFlash(t, f)
	data := segment(20 * 4088)
	p, err := c.Download(ctx, 0, data, uds.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Blocks != 20 || f.requests != 21 || !f.dropped {
		t.Errorf("%d blocks in %d requests (dropped %v), want 20 in 21", p.Blocks, f.requests, f.dropped)
	}
	if !bytes.Equal(f.mem, data) {
		t.Error("ECU memory differs: the resent block was written twice or lost")
	}
}

func TestDownloadSkipsTheSecondAnswerToAResentBlock(t *testing.T) {
	f := newFlashResponder(0x0FFA)
	f.lateBlock, f.lateDelay = 5, 450*time.Millisecond // after P2 (300 ms): the block is resent
	c, ctx := dialFlash(t, f)
	data := segment(20 * 4088)
	p, err := c.Download(ctx, 0, data, uds.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Blocks != 20 || f.requests != 21 || !bytes.Equal(f.mem, data) {
		t.Errorf("%d blocks in %d requests, memory equal %v; want 20 in 21", p.Blocks, f.requests, bytes.Equal(f.mem, data))
	}
}

func TestDownloadGivesUpAfterOneResend(t *testing.T) {
	f := newFlashResponder(0x0FFA)
	// An ECU that takes the 34 and then goes silent on 36.
	silent := doip.HandlerFunc(func(ctx context.Context, w doip.ResponseWriter, r *doip.Request) {
		if uds.SID(r.Data[0]) == uds.SIDTransferData {
			f.mu.Lock()
			f.requests++
			f.mu.Unlock()
			return
		}
		f.ServeDoIP(ctx, w, r)
	})
	c, ctx := dialFlash(t, silent)
	_, err := c.Download(ctx, 0, segment(100), uds.DownloadOptions{})
	var te *uds.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), fmt.Sprintf("counter 0x%02X", 1)) {
		t.Fatalf("got %v, want a timeout naming counter 0x01", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests != 2 {
		t.Errorf("%d 36 requests, want the block and one resend", f.requests)
	}
}
