package doip

import (
	"bytes"
	"errors"
	"testing"
)

// dropBeforeACK reads one diagnostic message and hangs up without acknowledging it.
func dropBeforeACK(r *rawConn) { r.next() }

// dropAfterACK reads one diagnostic message, acknowledges it and hangs up before answering.
func dropAfterACK(r *rawConn) {
	req := r.next().(*DiagnosticMessage)
	r.send(&DiagnosticACK{Source: req.Target, Target: req.Source})
}

func TestDropBeforeACKIsNotAcknowledged(t *testing.T) {
	addr := fakeEntity(t, dropBeforeACK)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Send(ctx, 0x00E0, []byte{0x2E, 0xF1, 0x90, 0x01})
	if !errors.Is(err, ErrNotAcknowledged) {
		t.Fatalf("Send = %v, want an error wrapping ErrNotAcknowledged", err)
	}
	if want := "target 0x00E0"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("Send error %q does not name the %s", err, want)
	}
}

func TestDropAfterACKIsNotErrNotAcknowledged(t *testing.T) {
	addr := fakeEntity(t, dropAfterACK)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, 0x00E0, []byte{0x2E, 0xF1, 0x90, 0x01}); err != nil {
		t.Fatalf("Send = %v, want the ACK to complete it", err)
	}
	_, err = conn.Receive(ctx)
	if err == nil || errors.Is(err, ErrNotAcknowledged) || errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after a drop after the ACK = %v, want a lost-connection error without ErrNotAcknowledged", err)
	}
}

func TestCloseWhileWaitingForACKIsErrClosed(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	addr := fakeEntity(t, func(r *rawConn) {
		r.next()
		close(arrived)
		<-release
	})
	defer close(release)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}) }()
	receive(t, arrived, "the entity has the message")
	conn.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) || errors.Is(err, ErrNotAcknowledged) {
		t.Fatalf("Send on a Conn closed by its owner = %v, want ErrClosed alone", err)
	}
}

func TestAutoReconnectResendsOnlyWhatWasNotAcknowledged(t *testing.T) {
	got := make(chan []byte, 2)
	addr := fakeEntities(t, dropBeforeACK, func(r *rawConn) {
		req := r.next().(*DiagnosticMessage)
		got <- req.Data
		r.send(&DiagnosticACK{Source: req.Target, Target: req.Source})
		r.send(&DiagnosticMessage{Source: req.Target, Target: req.Source, Data: []byte{0x6E, 0xF1, 0x90}})
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn, err := (&Client{AutoReconnect: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, 0x00E0, []byte{0x2E, 0xF1, 0x90, 0x01}); err != nil {
		t.Fatalf("Send after a drop before the ACK = %v, want the send on the new connection to succeed", err)
	}
	if b := <-got; !bytes.Equal(b, []byte{0x2E, 0xF1, 0x90, 0x01}) {
		t.Fatalf("second connection got % X", b)
	}
	if m, err := conn.Receive(ctx); err != nil || !bytes.Equal(m.Data, []byte{0x6E, 0xF1, 0x90}) {
		t.Fatalf("Receive = %+v, %v; want 6E F1 90", m, err)
	}
}
