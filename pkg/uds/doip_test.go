package uds_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// ecuHandler is a tiny ECU on a real doip.Server: session control, a routine that answers
// after two response pending messages, and a log of every request for the assertions.
type ecuHandler struct {
	mu   sync.Mutex
	seen [][]byte
	got  chan []byte
}

func (h *ecuHandler) ServeDoIP(ctx context.Context, w doip.ResponseWriter, r *doip.Request) {
	req := bytes.Clone(r.Data)
	h.mu.Lock()
	h.seen = append(h.seen, req)
	h.mu.Unlock()
	select {
	case h.got <- req:
	default:
	}
	switch {
	case req[0] == 0x10:
		w.Write(uds.SessionControlResponse(uds.Session(req[1]), 50*time.Millisecond, 5*time.Second))
	case bytes.Equal(req, []byte{0x31, 0x01, 0xFF, 0x00}):
		for range 2 {
			w.Write([]byte{0x7F, 0x31, 0x78})
			select {
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
		w.Write([]byte{0x71, 0x01, 0xFF, 0x00, 0x00})
	case bytes.Equal(req, []byte{0x3E, 0x80}):
	default:
		w.Write([]byte{0x7F, req[0], 0x11})
	}
}

// serveECU runs an ecuHandler behind a doip.Server on 127.0.0.1 and returns a Conn to it and a
// context bounding the test; both end with the test.
func serveECU(t *testing.T) (*ecuHandler, *doip.Conn, context.Context) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &ecuHandler{got: make(chan []byte, 16)}
	srv := &doip.Server{Handler: h, LogicalAddress: 0x00E0}
	go srv.Serve(ln, nil)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn, err := (&doip.Client{}).Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return h, conn, ctx
}

func TestClientOverDoIP(t *testing.T) {
	h, conn, ctx := serveECU(t)
	var tr uds.Transport = conn // *doip.Conn is a Transport
	c := uds.NewClient(tr, 0x00E0)

	if _, err := c.Request(ctx, uds.SessionControl(uds.SessionExtended)); err != nil {
		t.Fatal(err)
	}
	// Each 300 ms gap exceeds the P2 the client uses after the session response (50 ms + margin).
	c.NetworkMargin = 100 * time.Millisecond
	resp, err := c.Request(ctx, uds.RoutineControl(uds.RoutineStart, 0xFF00, nil))
	if err != nil {
		t.Fatal(err)
	}
	if status, err := uds.ParseRoutineControl(resp, uds.RoutineStart, 0xFF00); err != nil || !bytes.Equal(status, []byte{0x00}) {
		t.Fatalf("routine: % X %v", status, err)
	}
	_, err = c.Request(ctx, []byte{0x85, 0x01})
	var nre *uds.NegativeResponseError
	if !errors.As(err, &nre) || nre.NRC != uds.NRCServiceNotSupported {
		t.Fatalf("unsupported service: %v", err)
	}

	// Tester present keeps the extended session until the session returns to default.
	done := make(chan error, 1)
	go func() { done <- c.KeepSessionAlive(ctx, 20*time.Millisecond) }()
	for n := 0; n < 2; {
		select {
		case req := <-h.got:
			if bytes.Equal(req, []byte{0x3E, 0x80}) {
				n++
			}
		case <-ctx.Done():
			t.Fatal("no tester present reached the ECU")
		}
	}
	if _, err := c.Request(ctx, uds.SessionControl(uds.SessionDefault)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCancelledRequestIsNeverSent asks many times with a context that has ended while the
// client's turn is free: the select that waits for the turn would pick either case at random,
// so without the check after it about half of the requests would reach the ECU.
func TestCancelledRequestIsNeverSent(t *testing.T) {
	h, conn, ctx := serveECU(t)
	c := uds.NewClient(conn, 0x00E0)

	cancelled, stop := context.WithCancel(ctx)
	stop()
	for range 64 {
		_, err := c.Request(cancelled, []byte{0x2E, 0xF1, 0x98, 0x01})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Request with a cancelled context: %v, want context.Canceled", err)
		}
	}
	// A live request afterwards is the first thing the ECU sees.
	if _, err := c.Request(ctx, uds.SessionControl(uds.SessionExtended)); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) != 1 || h.seen[0][0] != 0x10 {
		t.Fatalf("the ECU saw % X, want only the 10 03 sent with a live context", h.seen)
	}
}
