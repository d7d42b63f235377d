package doip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// receiveQueue bounds the diagnostic messages a Conn holds for Receive; when it is full the
// read loop waits, which pushes back on the entity through TCP flow control.
const receiveQueue = 64

// event is an answer the read loop hands to the one caller waiting for it; kept by value so
// the diagnostic ACK path does not allocate.
type event struct {
	typ            PayloadType
	code           byte
	source, target uint16
	msg            Message // the decoded answer, for routing activation and alive check responses
}

// link is one TCP (or TLS) connection of a Conn with its read loop.
type link struct {
	nc      net.Conn
	tester  uint16
	version byte

	wmu  sync.Mutex
	wbuf []byte

	events  chan event
	diag    chan *DiagnosticMessage
	closing chan struct{} // closed by close
	done    chan struct{} // closed when the read loop has ended
	err     error         // why the read loop ended; read after done
	once    sync.Once
}

func newLink(nc net.Conn, tester uint16, version byte, maxPayload uint32) *link {
	l := &link{nc: nc, tester: tester, version: version,
		events: make(chan event, 8), diag: make(chan *DiagnosticMessage, receiveQueue),
		closing: make(chan struct{}), done: make(chan struct{})}
	go l.readLoop(NewReader(nc, maxPayload))
	return l
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.closing)
		l.nc.Close()
	})
}

// broken reports whether the connection failed or was closed, so callers can tell a lost
// connection from an error of one request.
func (l *link) broken() bool {
	select {
	case <-l.closing:
		return true
	case <-l.done:
		return true
	default:
		return false
	}
}

// lost is the error of a link whose read loop ended.
func (l *link) lost() error {
	return fmt.Errorf("doip: connection to %s lost: %w", l.nc.RemoteAddr(), l.err)
}

// write sends one frame in a single write, bounded by deadline.
func (l *link) write(m Message, deadline time.Time) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.wbuf = AppendFrame(l.wbuf[:0], l.version, m)
	l.nc.SetWriteDeadline(deadline)
	if _, err := l.nc.Write(l.wbuf); err != nil {
		l.close() // a partly written frame leaves the stream out of sync
		return fmt.Errorf("doip: write %v to %s: %w", m.Type(), l.nc.RemoteAddr(), err)
	}
	return nil
}

// readLoop dispatches every frame: answers alive checks itself, queues diagnostic messages for
// Receive and hands everything else to the waiting caller.
func (l *link) readLoop(rd *Reader) {
	defer close(l.done)
	defer l.close()
	var ack DiagnosticACK
	var nack DiagnosticNACK
	for {
		h, p, err := rd.Next()
		if err != nil {
			var de *Error
			if errors.As(err, &de) {
				l.write(&GenericNACK{Code: de.NACK}, time.Now().Add(DefaultControlTimeout))
				if !de.Close {
					continue
				}
			}
			l.err = err
			return
		}
		switch h.Type {
		case TypeDiagnosticMessage:
			m := &DiagnosticMessage{}
			if m.UnmarshalPayload(p) != nil || m.Target != l.tester {
				continue // not for this tester: a gateway misrouted it
			}
			select {
			case l.diag <- m:
			case <-l.closing:
				return
			}
		case TypeAliveCheckRequest:
			if err := l.write(&AliveCheckResponse{SourceAddress: l.tester}, time.Now().Add(DefaultControlTimeout)); err != nil {
				l.err = err
				return
			}
		case TypeDiagnosticACK:
			if ack.UnmarshalPayload(p) == nil {
				l.post(event{typ: h.Type, code: ack.Code, source: ack.Source, target: ack.Target})
			}
		case TypeDiagnosticNACK:
			if nack.UnmarshalPayload(p) == nil {
				l.post(event{typ: h.Type, code: byte(nack.Code), source: nack.Source, target: nack.Target})
			}
		case TypeRoutingActivationResponse, TypeAliveCheckResponse, TypeGenericNACK:
			m, _ := NewMessage(h.Type)
			if m.UnmarshalPayload(p) == nil {
				ev := event{typ: h.Type, msg: m}
				if g, ok := m.(*GenericNACK); ok {
					ev.code = byte(g.Code)
				}
				l.post(ev)
			}
		}
	}
}

// post hands an answer to the waiting caller; with nobody waiting, the oldest stale answer is
// dropped rather than blocking the read loop.
func (l *link) post(ev event) {
	for {
		select {
		case l.events <- ev:
			return
		default:
		}
		select {
		case <-l.events:
		default:
		}
	}
}

// errTimerExpired tells a waiter that its own timer, not its context, ended the wait.
var errTimerExpired = errors.New("timer expired")

// await returns the next answer for the waiting caller. Answers the read loop posted before the
// connection dropped win over the drop, so a denial followed by a close is still reported as
// the denial.
func (l *link) await(ctx context.Context, timer <-chan time.Time) (event, error) {
	select {
	case ev := <-l.events:
		return ev, nil
	case <-l.done:
		select {
		case ev := <-l.events:
			return ev, nil
		default:
			return event{}, l.lost()
		}
	case <-ctx.Done():
		return event{}, ctx.Err()
	case <-timer:
		return event{}, errTimerExpired
	}
}

// drain drops answers left over from an earlier request before a new one is sent.
func (l *link) drain() {
	for {
		select {
		case <-l.events:
		default:
			return
		}
	}
}
