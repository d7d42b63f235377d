package doip

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// recorder is a FrameHook that keeps copies of what it sees.
type recorder struct {
	mu     sync.Mutex
	frames []Frame
	events []ConnEvent
}

func (r *recorder) Frame(f Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f.Data = bytes.Clone(f.Data)
	r.frames = append(r.frames, f)
}

func (r *recorder) Conn(e ConnEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func TestHookSeesEveryFrameInOrder(t *testing.T) {
	addr := startServer(t, echoServer())
	ctx := testCtx(t)
	rec := &recorder{}
	conn, err := (&Client{Hook: rec}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, 0x00E0, []byte{0x22, 0xF1, 0x90}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := conn.Receive(ctx); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if _, err := conn.AliveCheck(ctx); err != nil {
		t.Fatalf("AliveCheck: %v", err)
	}
	conn.Close()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []struct {
		dir FrameDirection
		typ PayloadType
	}{
		{FrameSent, TypeRoutingActivationRequest},
		{FrameReceived, TypeRoutingActivationResponse},
		{FrameSent, TypeDiagnosticMessage},
		{FrameReceived, TypeDiagnosticACK},
		{FrameReceived, TypeDiagnosticMessage},
		{FrameSent, TypeAliveCheckRequest},
		{FrameReceived, TypeAliveCheckResponse},
	}
	if len(rec.frames) != len(want) {
		t.Fatalf("hook saw %d frames, want %d: %+v", len(rec.frames), len(want), rec.frames)
	}
	server := netip.MustParseAddrPort(addr)
	var last time.Time
	for i, f := range rec.frames {
		var h Header
		if err := h.Unmarshal(f.Data); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Dir != want[i].dir || h.Type != want[i].typ {
			t.Errorf("frame %d = %v %v, want %v %v", i, f.Dir, h.Type, want[i].dir, want[i].typ)
		}
		if int(h.Length)+HeaderLen != len(f.Data) {
			t.Errorf("frame %d: %d bytes, header says %d", i, len(f.Data), int(h.Length)+HeaderLen)
		}
		if f.Remote != server || !f.Local.Addr().IsLoopback() || f.UDP {
			t.Errorf("frame %d: local %v remote %v udp %v, want remote %v over TCP", i, f.Local, f.Remote, f.UDP, server)
		}
		if f.Time.Before(last) {
			t.Errorf("frame %d: time goes back", i)
		}
		last = f.Time
	}
	if len(rec.events) != 2 || !rec.events[0].Open || rec.events[1].Open || rec.events[0].Remote != server {
		t.Errorf("events = %+v, want open then close of %v", rec.events, server)
	}
}
