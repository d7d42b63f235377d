package doip

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/internal/ctxtime"
)

// A second request sent while the first one's Handler runs is acknowledged at once (ISO
// 13400-2 wants the ACK within 50 ms, whatever the ECU does), but served only after the first:
// the responses come in request order. The gate builds each answer from Request.Data after it
// is released, so the first answer also proves that reading the second frame (into the
// socket's reused decode buffer) did not overwrite the first request's Data.
func TestServerACKsWhileHandlerRuns(t *testing.T) {
	g := newGate()
	s := echoServer()
	s.Handler = g
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	raw.send(diag(0x31, 0x01, 0xFF, 0x00))
	raw.expectACK()
	receive(t, g.started, "the first Handler runs")
	raw.send(diag(0x22, 0xF1, 0x90))
	raw.expectACK() // release is still open: this ACK came while the first Handler ran
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("%d Handler calls while the first request is held, want 1 (one at a time)", n)
	}
	close(g.release)
	raw.expectResponse(0x71, 0x01, 0xFF, 0x00)
	raw.expectResponse(0x62, 0xF1, 0x90)
	if g.overlap.Load() {
		t.Fatal("two Handler calls of one socket ran at once")
	}
}

// fillQueue holds a first request in the gate and queues maxQueuedRequests more behind it,
// each acknowledged; it returns the UDS data sent, in order.
func fillQueue(t *testing.T, g *gate, raw *rawConn) [][]byte {
	t.Helper()
	var sent [][]byte
	for i := range maxQueuedRequests + 1 {
		data := []byte{0x31, 0x01, 0xFF, byte(i)}
		raw.send(diag(data...))
		raw.expectACK()
		if i == 0 {
			receive(t, g.started, "the first Handler runs")
		}
		sent = append(sent, data)
	}
	return sent
}

// With maxQueuedRequests messages waiting behind a running Handler, one more is refused with
// diagnostic NACK 0x05 (out of memory) instead of blocking the socket; the queued ones are
// still served in order, and the socket takes requests again once the queue has drained.
func TestServerQueueOverflowGetsNACK05(t *testing.T) {
	g := newGate()
	s := echoServer()
	s.Handler = g
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	sent := fillQueue(t, g, raw)
	raw.send(diag(0x31, 0x01, 0xFF, 0xEE))
	nack, ok := raw.next().(*DiagnosticNACK)
	if !ok || nack.Code != DiagNACKOutOfMemory || nack.Source != 0x00E0 || nack.Target != 0x0E00 {
		t.Fatalf("got %#v, want diagnostic NACK 0x05 from 0x00E0 to 0x0E00", nack)
	}
	close(g.release)
	for _, data := range sent {
		raw.expectResponse(append([]byte{0x71}, data[1:]...)...)
	}
	raw.send(diag(0x3E, 0x00))
	raw.expectACK()
	raw.expectResponse(0x7E, 0x00)
	if n := g.calls.Load(); n != int32(len(sent)+1) {
		t.Fatalf("Handler called %d times, want %d: the refused message must not reach it", n, len(sent)+1)
	}
}

// The pending messages of a socket hold at most twice MaxDataSize UDS bytes: a message that
// would pass that gets NACK 0x05 even when fewer than maxQueuedRequests wait.
func TestServerQueueByteBudgetGetsNACK05(t *testing.T) {
	g := newGate()
	s := echoServer()
	s.Handler, s.MaxDataSize = g, 64
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	request := func(tag byte, size int) []byte {
		data := make([]byte, size)
		data[0], data[1] = 0x31, tag
		return data
	}
	first, second, third := request(1, 60), request(2, 60), request(4, 8)
	raw.send(diag(first...))
	raw.expectACK()
	receive(t, g.started, "the first Handler runs")
	raw.send(diag(second...)) // 120 of 128 bytes pending
	raw.expectACK()
	raw.send(diag(request(3, 10)...)) // would make 130
	if nack, ok := raw.next().(*DiagnosticNACK); !ok || nack.Code != DiagNACKOutOfMemory {
		t.Fatalf("got %#v, want diagnostic NACK 0x05", nack)
	}
	raw.send(diag(third...)) // exactly 128
	raw.expectACK()
	close(g.release)
	for _, data := range [][]byte{first, second, third} {
		raw.expectResponse(append([]byte{0x71}, data[1:]...)...)
	}
}

// countingListener counts the writes on every socket it accepts, to observe ACK corking.
type countingListener struct {
	net.Listener
	writes atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: nc, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1) // before the bytes can reach the peer, so a reader never sees a stale count
	return c.Conn.Write(b)
}

// idle reports whether no socket of s has a diagnostic message pending. A tester can get a
// response before the worker that wrote it has marked its socket idle again.
func idle(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.q.pending.Load() != 0 {
			return false
		}
	}
	return true
}

// On an idle socket the ACK waits for the Handler's first response and leaves with it in one
// write, for the socket's first request and for later ones. The cork is made long here, so a
// lost optimisation shows as a missing ACK, not as a race with a timer.
func TestServerCorksACKWithFirstResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingListener{Listener: ln}
	s := echoServer()
	s.ackCorkDelay = time.Hour
	raw := dialRaw(t, serveOn(t, s, counting, nil))
	raw.activate(0x0E00)
	for i := range 3 {
		waitFor(t, func() bool { return idle(s) })
		raw.send(diag(0x22, 0xF1, byte(i)))
		raw.expectACK()
		raw.expectResponse(0x62, 0xF1, byte(i))
	}
	if n := counting.writes.Load(); n != 4 {
		t.Fatalf("%d writes, want 4: the activation response, then ACK and response together three times", n)
	}
}

// CloseConnections cancels the running Handler's context and drops the queued messages
// unserved; the socket counts as open until that Handler has returned.
func TestCloseConnectionsCancelsHandlerAndDropsQueue(t *testing.T) {
	g := newGate()
	defer close(g.release)
	s := echoServer()
	s.Handler = g
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	raw.send(diag(0x31, 0x01, 0xFF, 0x00))
	raw.expectACK()
	receive(t, g.started, "the first Handler runs")
	for _, d := range []byte{0x01, 0x02} {
		raw.send(diag(0x22, 0xF1, d))
		raw.expectACK()
	}
	s.CloseConnections()
	receive(t, g.cancelled, "the running Handler sees its context end")
	raw.expectClosed()
	waitFor(t, func() bool { return s.OpenSockets() == 0 })
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("Handler called %d times, want 1: queued messages of a closed socket are dropped", n)
	}
}

// A fault that closes the socket (here a wrong length: generic NACK 0x04) also ends the
// Handler still running on it, and nothing follows the NACK on the wire.
func TestServerClosingNACKEndsRunningHandler(t *testing.T) {
	g := newGate()
	defer close(g.release)
	s := echoServer()
	s.Handler = g
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	raw.send(diag(0x31, 0x01, 0xFF, 0x00))
	raw.expectACK()
	receive(t, g.started, "the Handler runs")
	raw.write(hx(t, "02 fd 00 08 00 00 00 03 0e 00 00")) // alive check response of 3 bytes
	if m, ok := raw.next().(*GenericNACK); !ok || m.Code != NACKInvalidLength {
		t.Fatalf("got %#v, want generic NACK 0x04", m)
	}
	raw.expectClosed()
	receive(t, g.cancelled, "the running Handler sees its context end")
}

// Responses the Handler sends restart T_TCP_General_Inactivity: a response pending chain
// longer than the timer keeps a silent tester's socket open, as the Handler is still answering.
func TestServerResponsesRestartGeneralInactivity(t *testing.T) {
	s := echoServer()
	s.GeneralInactivity = time.Second
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		for range 6 { // 1.5 s in all, each gap a quarter of the timer
			if w.Write([]byte{0x7F, r.Data[0], 0x78}) != nil || ctxtime.Sleep(ctx, 250*time.Millisecond) != nil {
				return
			}
		}
		w.Write([]byte{r.Data[0] + 0x40})
	})
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	raw.send(diag(0x31, 0x01, 0xFF, 0x00))
	raw.expectACK()
	for range 6 {
		raw.expectResponse(0x7F, 0x31, 0x78)
	}
	raw.expectResponse(0x71)
}

// A Handler that runs long on the socket's reader goroutine hands reading over to a new
// goroutine, round after round: alive check requests and further requests are still read and
// answered while it is held, responses keep their order, and the socket serves fast requests
// in between and closes cleanly at the end.
func TestServerServesOnAfterReaderTakeovers(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var running atomic.Int32
	var overlap atomic.Bool
	s := echoServer()
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if running.Add(1) > 1 {
			overlap.Store(true)
		}
		defer running.Add(-1)
		if r.Data[0] == 0x31 {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
				return
			}
		}
		w.Write(append([]byte{r.Data[0] + 0x40}, r.Data[1:]...))
	})
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	for round := range byte(3) {
		raw.send(diag(0x31, 0x01, 0xFF, round))
		raw.expectACK()
		receive(t, started, "the held request runs")
		raw.send(&AliveCheckRequest{})
		if m, ok := raw.next().(*AliveCheckResponse); !ok || m.SourceAddress != 0x00E0 {
			t.Fatalf("round %d: got %#v while a Handler is held, want an alive check response", round, m)
		}
		raw.send(diag(0x22, 0xF1, round))
		raw.expectACK()
		release <- struct{}{}
		raw.expectResponse(0x71, 0x01, 0xFF, round)
		raw.expectResponse(0x62, 0xF1, round)
		for i := range byte(3) {
			raw.send(diag(0x3E, i))
			raw.expectACK()
			raw.expectResponse(0x7E, i)
		}
	}
	if overlap.Load() {
		t.Fatal("two Handler calls of one socket ran at once")
	}
	raw.nc.Close()
	waitFor(t, func() bool { return s.OpenSockets() == 0 })
}
