package doip

import (
	"bytes"
	"context"
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
	f.Data, f.Tail = bytes.Clone(f.Data), bytes.Clone(f.Tail)
	r.frames = append(r.frames, f)
}

func (r *recorder) Conn(e ConnEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func TestHookSeesEveryFrameInOrder(t *testing.T) {
	addr := startServer(t, echoServer())
	rec := &recorder{}
	hookedSession(t, addr, rec, []byte{0x22, 0xF1, 0x90})

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
		if int(h.Length)+HeaderLen != len(whole(f)) {
			t.Errorf("frame %d: %d bytes, header says %d", i, len(whole(f)), int(h.Length)+HeaderLen)
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

// hookedSession dials echoServer's addr with hook, sends each request and reads its answer,
// runs an alive check and closes: the session the hook tests record.
func hookedSession(t *testing.T, addr string, hook FrameHook, reqs ...[]byte) {
	t.Helper()
	ctx := testCtx(t)
	conn, err := (&Client{Hook: hook}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range reqs {
		if err := conn.Send(ctx, 0x00E0, req); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if _, err := conn.Receive(ctx); err != nil {
			t.Fatalf("Receive: %v", err)
		}
	}
	if _, err := conn.AliveCheck(ctx); err != nil {
		t.Fatalf("AliveCheck: %v", err)
	}
	conn.Close()
}

// snapshot returns copies of what r has seen so far.
func (r *recorder) snapshot() ([]Frame, []ConnEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Frame(nil), r.frames...), append([]ConnEvent(nil), r.events...)
}

// waitFor polls r until it has seen n frames and m events, since the Server reports on its
// own goroutines.
func (r *recorder) waitFor(t *testing.T, n, m int) ([]Frame, []ConnEvent) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		frames, events := r.snapshot()
		if len(frames) >= n && len(events) >= m || time.Now().After(deadline) {
			return frames, events
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// opposite reports whether a and b are the same frame seen from the two ends of a socket.
func opposite(a, b Frame) bool {
	return a.Dir != b.Dir && a.UDP == b.UDP && a.Local == b.Remote && a.Remote == b.Local && bytes.Equal(whole(a), whole(b))
}

// whole is f's frame, Data and Tail joined.
func whole(f Frame) []byte { return append(bytes.Clone(f.Data), f.Tail...) }

// TestHookSeesALargeBlockUncopied sends a block large enough to leave in one writev: the
// client's hook sees the frame in two parts whose tail is the caller's own buffer, and the
// server's hook sees the same bytes arrive whole.
func TestHookSeesALargeBlockUncopied(t *testing.T) {
	srvRec := &recorder{}
	s := echoServer()
	s.Hook = srvRec
	addr := startServer(t, s)
	data := bytes.Repeat([]byte{0xA5}, vectorWrite+100)
	cliRec := &aliasRecorder{data: data}
	ctx := testCtx(t)
	conn, err := (&Client{Hook: cliRec}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SendParts(ctx, 0x00E0, []byte{0x36, 0x01}, data); err != nil {
		t.Fatalf("SendParts: %v", err)
	}
	if m, err := conn.Receive(ctx); err != nil || len(m.Data) != 2+len(data) || m.Data[0] != 0x76 {
		t.Fatalf("Receive = %d bytes, %v; want the 76 echo of %d", len(m.Data), err, 2+len(data))
	}
	conn.Close()

	cli, _ := cliRec.snapshot()
	var block *Frame
	for i := range cli {
		if cli[i].Dir == FrameSent && len(whole(cli[i])) > len(data) {
			block = &cli[i]
		}
	}
	if block == nil {
		t.Fatalf("the client's hook saw no block among %d frames", len(cli))
	}
	if !cliRec.aliased {
		t.Errorf("the block's Tail (%d bytes) is not the caller's buffer: it was copied to be reported", len(block.Tail))
	}
	want := append([]byte{0x02, 0xFD, 0x80, 0x01, 0, 0, byte((4 + 2 + len(data)) >> 8), byte(4 + 2 + len(data)), 0x0E, 0x00, 0x00, 0xE0, 0x36, 0x01}, data...)
	if got := whole(*block); !bytes.Equal(got, want) {
		t.Errorf("reported block = % X..., want % X...", got[:16], want[:16])
	}
	srv, _ := srvRec.waitFor(t, 2, 0)
	found := false
	for _, f := range srv {
		found = found || opposite(*block, f) && f.Tail == nil
	}
	if !found {
		t.Errorf("the server's hook did not see the block arrive whole among %d frames", len(srv))
	}
}

// aliasRecorder is a recorder that also notes whether a frame's Tail was data itself.
type aliasRecorder struct {
	recorder
	data    []byte
	aliased bool
}

func (a *aliasRecorder) Frame(f Frame) {
	a.mu.Lock()
	a.aliased = a.aliased || len(f.Tail) > 0 && &f.Tail[0] == &a.data[0]
	a.mu.Unlock()
	a.recorder.Frame(f)
}

func TestServerHookSeesTheClientsFramesInOrder(t *testing.T) {
	srvRec := &recorder{}
	s := echoServer()
	s.Hook = srvRec
	addr := startServer(t, s)
	cliRec := &recorder{}
	hookedSession(t, addr, cliRec, []byte{0x22, 0xF1, 0x90}, []byte{0x3E, 0x00})

	cli, _ := cliRec.snapshot()
	srv, events := srvRec.waitFor(t, len(cli), 2)
	if len(srv) != len(cli) {
		t.Fatalf("server hook saw %d frames, the client's %d:\nserver %+v\nclient %+v", len(srv), len(cli), srv, cli)
	}
	for i := range cli {
		if !opposite(cli[i], srv[i]) {
			t.Errorf("frame %d: client saw %v % X (%v -> %v), server %v % X (%v -> %v)", i,
				cli[i].Dir, cli[i].Data, cli[i].Local, cli[i].Remote, srv[i].Dir, srv[i].Data, srv[i].Local, srv[i].Remote)
		}
	}
	if len(events) != 2 || !events[0].Open || events[1].Open || events[0].Local != cli[0].Remote || events[0].Remote != cli[0].Local {
		t.Errorf("server events = %+v, want open then close of the client's socket %v -> %v", events, cli[0].Local, cli[0].Remote)
	}
}

func TestHookSeesUDPVehicleIdentificationBothWays(t *testing.T) {
	srvRec := &recorder{}
	s := echoServer()
	s.Hook = srvRec
	addr := startServer(t, s)
	ctx := testCtx(t)
	cliRec := &recorder{}
	c := &Client{Hook: cliRec}
	if _, err := c.Identify(ctx, addr, IdentifyQuery{}); err != nil {
		t.Fatalf("Identify: %v", err)
	}
	found, err := c.Discover(ctxWithTimeout(t, ctx, 300*time.Millisecond), addr, IdentifyQuery{})
	if err != nil || len(found) != 1 {
		t.Fatalf("Discover = %v, %v; want one entity", found, err)
	}

	cli, cliEvents := cliRec.snapshot()
	srv, srvEvents := srvRec.waitFor(t, 4, 0)
	wantTypes := []PayloadType{TypeVehicleIdentificationRequest, TypeVehicleAnnouncement,
		TypeVehicleIdentificationRequest, TypeVehicleAnnouncement}
	if len(cli) != len(wantTypes) || len(srv) != len(wantTypes) {
		t.Fatalf("client hook saw %d frames, server hook %d, want %d each:\nclient %+v\nserver %+v", len(cli), len(srv), len(wantTypes), cli, srv)
	}
	server := netip.MustParseAddrPort(addr)
	for i, want := range wantTypes {
		var h Header
		if err := h.Unmarshal(cli[i].Data); err != nil || h.Type != want {
			t.Errorf("client frame %d: type %v (%v), want %v", i, h.Type, err, want)
		}
		wantDir := FrameSent
		if i%2 == 1 {
			wantDir = FrameReceived
		}
		if !cli[i].UDP || cli[i].Dir != wantDir || cli[i].Remote != server {
			t.Errorf("client frame %d: udp %v dir %v remote %v, want UDP %v from/to %v", i, cli[i].UDP, cli[i].Dir, cli[i].Remote, wantDir, server)
		}
		if !srv[i].UDP || srv[i].Local != server || srv[i].Dir == wantDir || !bytes.Equal(srv[i].Data, cli[i].Data) {
			t.Errorf("server frame %d: udp %v dir %v local %v % X, want the client's frame seen from %v", i, srv[i].UDP, srv[i].Dir, srv[i].Local, srv[i].Data, server)
		}
	}
	// The client's identify socket is connected, so the server saw its real address.
	if srv[0].Remote != cli[0].Local {
		t.Errorf("server saw the identify request from %v, the client sent from %v", srv[0].Remote, cli[0].Local)
	}
	if len(cliEvents) != 0 || len(srvEvents) != 0 {
		t.Errorf("UDP exchanges reported connection events: client %+v, server %+v", cliEvents, srvEvents)
	}
}

// ctxWithTimeout is ctx bounded by d, cancelled at the end of the test.
func ctxWithTimeout(t *testing.T, ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return ctx
}
