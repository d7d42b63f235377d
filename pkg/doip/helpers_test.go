package doip

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hx decodes a hex string with spaces, as the public references print their vectors.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// testCtx is a generous deadline for "eventually" on a loaded machine.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// asError returns the *Error in err, failing the test if there is none.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *doip.Error", err, err)
	}
	return de
}

// testVIN and friends identify the entity in the end-to-end tests.
var (
	testVIN = [17]byte([]byte("WVWZZZ1JZ3W386752"))
	testEID = [6]byte{0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E}
	testGID = [6]byte{0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5F}
)

// startServer runs s on 127.0.0.1 with TCP and UDP on one ephemeral port and returns that address.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return serveOn(t, s, ln, pc)
}

// serveOn runs s on the given sockets and shuts it down at the end of the test, checking that
// Serve returned ErrServerClosed.
func serveOn(t testing.TB, s *Server, ln net.Listener, pc net.PacketConn) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln, pc) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	if ln != nil {
		return ln.Addr().String()
	}
	return pc.LocalAddr().String()
}

// echoServer is an entity at 0x00E0 whose handler answers every request with 0x40 added to the SID.
func echoServer() *Server {
	return &Server{
		LogicalAddress: 0x00E0, VIN: testVIN, EID: testEID, GID: testGID, NodeType: NodeNode,
		Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
			resp := append([]byte{r.Data[0] + 0x40}, r.Data[1:]...)
			w.Write(resp)
		}),
	}
}

// expectTesterPresent sends 3E 00 to echoServer's ECU and expects 7E 00 back: the round trip
// that shows a connection still works after a fault, a denial or a reconnect.
func expectTesterPresent(ctx context.Context, t *testing.T, conn *Conn, after string) {
	t.Helper()
	if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
		t.Fatalf("Send %s: %v", after, err)
	}
	if m, err := conn.Receive(ctx); err != nil || !bytes.Equal(m.Data, []byte{0x7E, 0x00}) {
		t.Fatalf("Receive %s = %+v, %v; want 7E 00", after, m, err)
	}
}

// rawConn is a tester socket driven byte by byte, for injecting faults the Client never makes.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	rd *Reader
}

// dialConn dials addr with a default Client, closing the Conn when the test ends.
func dialConn(t testing.TB, ctx context.Context, addr string) *Conn {
	t.Helper()
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc, rd: NewReader(nc, DefaultMaxPayload)}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

func (r *rawConn) send(m Message) { r.t.Helper(); r.write(Marshal(Version2012, m)) }

// next reads and decodes one frame from the entity.
func (r *rawConn) next() Message {
	r.t.Helper()
	h, p, err := r.rd.Next()
	if err != nil {
		r.t.Fatalf("raw read: %v", err)
	}
	m, err := NewMessage(h.Type)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := m.UnmarshalPayload(p); err != nil {
		r.t.Fatal(err)
	}
	return m
}

// expectClosed asserts the entity closed the socket (EOF or reset, not a timeout).
func (r *rawConn) expectClosed() {
	r.t.Helper()
	h, _, err := r.rd.Next()
	if err == nil {
		r.t.Fatalf("socket still open: got %v", h.Type)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatalf("socket not closed by the entity: %v", err)
	}
}

// activate runs a routing activation on the raw socket and returns the response.
func (r *rawConn) activate(source uint16) *RoutingActivationResponse {
	r.t.Helper()
	r.send(&RoutingActivationRequest{SourceAddress: source})
	resp, ok := r.next().(*RoutingActivationResponse)
	if !ok {
		r.t.Fatal("no routing activation response")
	}
	return resp
}

// waitHangUp reads until the peer closes the socket, ignoring what it sends.
func (r *rawConn) waitHangUp() {
	for {
		if _, _, err := r.rd.Next(); err != nil {
			return
		}
	}
}

// gate is a Handler that holds every request starting with 0x31 until release is closed (or its
// socket closes), so tests can act while a Handler is running; other requests pass at once.
// Every request is answered with 0x40 added to the SID, unless its context ended first.
type gate struct {
	started   chan struct{} // one value each time a held request starts
	cancelled chan struct{} // one value each time a held request's context ends
	release   chan struct{}
	calls     atomic.Int32 // ServeDoIP calls so far
	running   atomic.Int32 // ServeDoIP calls in progress
	overlap   atomic.Bool  // two calls ran at once
}

func newGate() *gate {
	return &gate{started: make(chan struct{}, 64), cancelled: make(chan struct{}, 64), release: make(chan struct{})}
}

// ServeDoIP implements Handler.
func (g *gate) ServeDoIP(ctx context.Context, w ResponseWriter, r *Request) {
	g.calls.Add(1)
	if g.running.Add(1) > 1 {
		g.overlap.Store(true)
	}
	defer g.running.Add(-1)
	if r.Data[0] == 0x31 {
		g.started <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			g.cancelled <- struct{}{}
			return
		}
	}
	w.Write(append([]byte{r.Data[0] + 0x40}, r.Data[1:]...))
}

// receive waits for one value on ch, failing the test if it does not come in time.
func receive(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-testCtx(t).Done():
		t.Fatalf("timed out waiting until %s", what)
	}
}

// diag is a diagnostic message from the default tester to the echo entity.
func diag(data ...byte) *DiagnosticMessage {
	return &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: data}
}

// expectACK reads the next frame and checks it is the positive ACK of a message to the entity.
func (r *rawConn) expectACK() {
	r.t.Helper()
	ack, ok := r.next().(*DiagnosticACK)
	if !ok || ack.Source != 0x00E0 || ack.Target != 0x0E00 || ack.Code != 0 {
		r.t.Fatalf("want diagnostic ACK from 0x00E0 to 0x0E00, got %#v", ack)
	}
}

// expectResponse reads the next frame and checks it is a diagnostic message carrying data.
func (r *rawConn) expectResponse(data ...byte) {
	r.t.Helper()
	m, ok := r.next().(*DiagnosticMessage)
	if !ok || m.Source != 0x00E0 || m.Target != 0x0E00 || !bytes.Equal(m.Data, data) {
		r.t.Fatalf("want response % x, got %#v", data, m)
	}
}
