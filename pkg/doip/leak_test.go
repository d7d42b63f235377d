package doip

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// TestNoGoroutineLeak opens, uses and closes connections, cancels waits and runs UDP requests;
// it leaves Handlers running with messages queued behind them when sockets close (by the tester
// and by CloseConnections), and runs alive-check arbitration against a busy socket. Then the
// goroutine count must return to where it started: no socket reader, worker, corked-ACK timer
// or probe outlives its socket.
func TestNoGoroutineLeak(t *testing.T) {
	g := newGate()
	defer close(g.release)
	s := echoServer()
	s.Handler = g
	addr := startServer(t, s)
	ctx := testCtx(t)
	c := &Client{}
	if _, err := c.EntityStatus(ctx, addr); err != nil { // warm up lazily started runtime goroutines
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		conn, err := c.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
			t.Fatal(err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		conn.Receive(cancelled) // returns at once; the response stays queued
		if _, err := c.PowerMode(ctx, addr); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			conn.Close() // with its worker idle
			continue
		}
		// A held request with two more queued behind it, then arbitration: the Conn answers the
		// alive check while its request runs, so a second Dial of the same tester is denied.
		for _, req := range [][]byte{{0x31, 0x01, 0xFF, 0x00}, {0x22, 0xF1, 0x90}, {0x3E, 0x00}} {
			if err := conn.Send(ctx, 0x00E0, req); err != nil {
				t.Fatal(err)
			}
		}
		receive(t, g.started, "the held request runs")
		var ae *ActivationError
		if _, err := c.Dial(ctx, addr); !errors.As(err, &ae) {
			t.Fatalf("second Dial of a live tester = %v, want a denial", err)
		}
		if i%3 == 2 {
			s.CloseConnections()
		}
		conn.Close()
		receive(t, g.cancelled, "the held request's context ends with its socket")
	}
	waitFor(t, func() bool { return s.OpenSockets() == 0 && runtime.NumGoroutine() <= base })
}
