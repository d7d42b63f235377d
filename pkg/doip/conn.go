package doip

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ecufleet/ecufleet/internal/ctxtime"
)

// Conn is one tester connection to an entity. It answers the entity's alive checks by itself,
// whether a call is reading the socket or its background reader is (see link). It is safe for
// one goroutine doing Send, Receive and the other calls, plus Close from another goroutine.
type Conn struct {
	cfg  Client
	addr string

	mu     sync.Mutex
	l      *link
	entity uint16
	closed bool

	// Reused by Send (one Send at a time) so a round trip does not allocate a message.
	sendMsg DiagnosticMessage
}

// current is the link in use, or ErrClosed.
func (c *Conn) current() (*link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.l, nil
}

// EntityAddress is the entity's logical address from the last routing activation response.
func (c *Conn) EntityAddress() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entity
}

// ActivateRouting sends a routing activation request on this connection, for callers that
// dialled with NoActivation or need another activation type. A denial is an *ActivationError
// returned together with the response.
func (c *Conn) ActivateRouting(ctx context.Context, activationType byte, oem []byte) (*RoutingActivationResponse, error) {
	l, err := c.current()
	if err != nil {
		return nil, err
	}
	resp, err := c.cfg.activate(ctx, l, activationType, oem)
	if err == nil {
		c.mu.Lock()
		c.entity = resp.EntityAddress
		c.mu.Unlock()
	}
	return resp, err
}

// AliveCheck asks the entity to prove it is there (0x0007) and waits up to ControlTimeout for 0x0008.
func (c *Conn) AliveCheck(ctx context.Context) (*AliveCheckResponse, error) {
	var resp *AliveCheckResponse
	err := c.withReconnect(ctx, func(l *link) error {
		ev, err := c.cfg.control(ctx, l, &AliveCheckRequest{}, TypeAliveCheckResponse)
		if err == nil {
			resp = ev.msg.(*AliveCheckResponse)
		}
		return err
	})
	return resp, err
}

// Send sends one diagnostic message to target and waits up to AckTimeout for the entity's
// ACK from target to this tester. A negative ACK is a *DiagnosticNACKError. A connection that
// drops before the ACK arrived is an error wrapping ErrNotAcknowledged (with AutoReconnect,
// after the one send on a new connection failed too); a drop after it shows only in the next
// Receive, without that sentinel.
func (c *Conn) Send(ctx context.Context, target uint16, data []byte) error {
	return c.SendParts(ctx, target, nil, data)
}

// SendParts is Send of the message whose data is head followed by data, sent without joining
// them first: a download's blocks go out from the image itself (uds.PartsTransport).
func (c *Conn) SendParts(ctx context.Context, target uint16, head, data []byte) error {
	if len(head) == 0 && len(data) < vectorWrite {
		head, data = data, nil
	}
	return c.withReconnect(ctx, func(l *link) error { return c.send(ctx, l, target, head, data) })
}

func (c *Conn) send(ctx context.Context, l *link, target uint16, head, tail []byte) error {
	deadline := time.Now().Add(c.cfg.AckTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	l.drain()
	c.sendMsg = DiagnosticMessage{Source: c.cfg.TesterAddress, Target: target, Data: head}
	err := l.writeTail(&c.sendMsg, tail, deadline)
	c.sendMsg.Data = nil // do not keep the caller's buffer
	if err != nil {
		return notAcknowledged(target, err) // a failed write always ends the link
	}
	for {
		ev, err := l.awaitAnswer(ctx, deadline)
		switch {
		case err == errTimerExpired:
			return fmt.Errorf("doip: no diagnostic ACK from 0x%04X within %v; the entity may be overloaded or the target unreachable",
				target, c.cfg.AckTimeout)
		case err != nil && err == ctx.Err():
			return fmt.Errorf("doip: waiting for the ACK of 0x%04X: %w", target, err)
		case err != nil && l.broken():
			return notAcknowledged(target, err)
		case err != nil:
			return err
		case ev.typ == TypeGenericNACK:
			return &GenericNACKError{Code: NACKCode(ev.code)}
		case ev.source != target || ev.target != c.cfg.TesterAddress:
			// An acknowledgement of another exchange: keep waiting for ours.
		case ev.typ == TypeDiagnosticACK:
			return nil
		case ev.typ == TypeDiagnosticNACK:
			return &DiagnosticNACKError{Code: DiagnosticNACKCode(ev.code), Source: ev.source, Target: ev.target}
		}
	}
}

// notAcknowledged wraps err, the loss of the link while a diagnostic message to target waited
// for its ACK, with ErrNotAcknowledged.
func notAcknowledged(target uint16, err error) error {
	return fmt.Errorf("%w (target 0x%04X): %w", ErrNotAcknowledged, target, err)
}

// Receive returns the next diagnostic message addressed to this tester, waiting until ctx ends.
func (c *Conn) Receive(ctx context.Context) (*DiagnosticMessage, error) {
	return c.ReceiveBefore(ctx, time.Time{})
}

// ReceiveBefore is Receive ending at deadline too (zero: none), with an error that matches
// os.ErrDeadlineExceeded: a caller with a timer of its own, such as a UDS client's P2, needs no
// context per message for it.
func (c *Conn) ReceiveBefore(ctx context.Context, deadline time.Time) (*DiagnosticMessage, error) {
	var m *DiagnosticMessage
	err := c.withReconnect(ctx, func(l *link) error {
		var err error
		m, err = l.awaitMessage(ctx, deadline)
		switch {
		case err == errTimerExpired:
			return fmt.Errorf("doip: no diagnostic message by %s: %w", deadline.Format(time.StampMicro), os.ErrDeadlineExceeded)
		case err != nil && err == ctx.Err():
			return fmt.Errorf("doip: waiting for a diagnostic message: %w", err)
		}
		return err
	})
	return m, err
}

// ReceiveFrom is Receive for callers that need only the sender and the bytes, such as a UDS
// client (uds.Transport), so their interfaces carry no DoIP types.
func (c *Conn) ReceiveFrom(ctx context.Context) (source uint16, data []byte, err error) {
	return c.ReceiveFromBefore(ctx, time.Time{})
}

// ReceiveFromBefore is ReceiveBefore for a UDS client (uds.DeadlineTransport).
func (c *Conn) ReceiveFromBefore(ctx context.Context, deadline time.Time) (source uint16, data []byte, err error) {
	m, err := c.ReceiveBefore(ctx, deadline)
	if err != nil {
		return 0, nil, err
	}
	return m.Source, m.Data, nil
}

// withReconnect runs op on the current link and, with AutoReconnect, once more on a fresh
// link when the connection was lost.
func (c *Conn) withReconnect(ctx context.Context, op func(*link) error) error {
	l, err := c.current()
	if err != nil {
		return err
	}
	if err = op(l); err == nil {
		return nil
	}
	if _, cerr := c.current(); cerr != nil {
		return cerr // closed by Close while op was waiting
	}
	if !c.cfg.AutoReconnect || !l.broken() {
		return err
	}
	<-l.done
	if l, err = c.redial(ctx, l); err != nil {
		return err
	}
	return op(l)
}

// redial replaces a lost link by a new, activated one (one attempt).
func (c *Conn) redial(ctx context.Context, old *link) (*link, error) {
	l, entity, err := c.cfg.connect(ctx, c.addr)
	if err != nil {
		return nil, fmt.Errorf("doip: automatic reconnect after %v: %w", old.lost(), err)
	}
	return c.swap(l, entity)
}

// swap installs a new link unless the Conn was closed meanwhile.
func (c *Conn) swap(l *link, entity uint16) (*link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		l.close()
		return nil, ErrClosed
	}
	c.l.close()
	c.l, c.entity = l, entity
	return l, nil
}

// Reconnect closes the connection, waits closeDelay (an ECU reset), then dials and activates
// again, retrying until it succeeds or ctx ends.
func (c *Conn) Reconnect(ctx context.Context, closeDelay time.Duration) error {
	l, err := c.current()
	if err != nil {
		return err
	}
	l.close()
	if err := ctxtime.Sleep(ctx, closeDelay); err != nil {
		return fmt.Errorf("doip: reconnect to %s: %w", c.addr, err)
	}
	backoff := 50 * time.Millisecond
	for {
		nl, entity, err := c.cfg.connect(ctx, c.addr)
		if err == nil {
			_, err = c.swap(nl, entity)
			return err
		}
		if serr := ctxtime.Sleep(ctx, backoff); serr != nil {
			return fmt.Errorf("doip: reconnect to %s: %w (last attempt: %v)", c.addr, serr, err)
		}
		backoff = min(2*backoff, time.Second)
	}
}

// Close ends the connection; blocked calls return ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.closed = true
	c.l.close()
	<-c.l.done // the background reader ends the link promptly once the socket is closed
	return nil
}
