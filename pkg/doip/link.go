package doip

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// receiveQueue bounds the diagnostic messages a Conn holds for Receive; when it is full the
// background reader waits, which pushes back on the entity through TCP flow control.
const receiveQueue = 64

// vectorWrite is the size of diagnostic data from which a frame leaves in one writev of its
// header and the caller's buffer instead of being copied into one: below it the copy is cheaper
// than the kernel's gathering.
const vectorWrite = 2048

// deadlineSlack is how much later than asked a write deadline already set may be and still be
// kept, so a round trip does not pay a deadline update per frame (a read deadline is kept when
// it is earlier, see setReadDeadline).
const deadlineSlack = 10 * time.Millisecond

// aLongTimeAgo is a read deadline in the past: setting it makes a blocked Read return.
var aLongTimeAgo = time.Unix(1, 0)

// event is an answer a reader hands to the one caller waiting for it; kept by value so the
// diagnostic ACK path does not allocate.
type event struct {
	typ            PayloadType
	code           byte
	source, target uint16
	msg            Message // the decoded answer, for routing activation and alive check responses
}

// link is one TCP (or TLS) connection of a Conn. Whoever holds the read token (see readToken)
// reads the socket: the caller of a Send, Receive or control request while it waits, or, once
// the link has been idle for idleHandover, the background reader, which answers alive checks
// and queues diagnostic messages until a caller takes the token back.
type link struct {
	nc      net.Conn
	tester  uint16
	version byte
	hook    FrameHook // nil: no frame is reported

	wmu  sync.Mutex
	wbuf []byte
	wdl  time.Time // the write deadline set on nc; under wmu
	// vecs holds a large message's header and data for one writev; vec is the net.Buffers over
	// it that the write consumes (it nils what it wrote). Both under wmu; kept in the link so
	// a write allocates nothing.
	vecs [2][]byte
	vec  net.Buffers

	rt readToken // who reads the socket now: a caller or the background reader

	// interruptFn (the method value of interrupt, made once so a read does not allocate it) ends
	// a read whose context ends; it then signals interrupted. watched is the context it is
	// registered on and stopWatch undoes that, under watchMu; close ends the registration, so
	// a long-lived context does not keep a closed link.
	interruptFn func()
	interrupted chan struct{}
	watchMu     sync.Mutex
	watched     context.Context
	stopWatch   func() bool
	unwatched   bool // closed: register no more

	// Owned by the read token holder.
	rd      *Reader
	rdl     time.Time          // the read deadline set on nc
	rdlSet  bool               // false: nc's read deadline is unknown (rdl is stale)
	stalled *DiagnosticMessage // read while Receive's queue was full; delivered before reading on

	events  chan event
	diag    chan *DiagnosticMessage
	closing chan struct{} // closed by close
	done    chan struct{} // closed when the link has failed or been closed
	err     error         // why the link ended; read after done
	once    sync.Once
	endOnce sync.Once
}

func newLink(nc net.Conn, tester uint16, version byte, maxPayload uint32, hook FrameHook) *link {
	l := &link{nc: nc, tester: tester, version: version, hook: hook, rd: NewReader(nc, maxPayload),
		events: make(chan event, 8), diag: make(chan *DiagnosticMessage, receiveQueue),
		closing: make(chan struct{}), done: make(chan struct{}), interrupted: make(chan struct{}, 1)}
	l.interruptFn = l.interrupt
	l.rt.init()
	if hook != nil {
		l.event(true)
	}
	go l.background()
	return l
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.closing)
		l.rt.stop()
		l.watchMu.Lock()
		if l.stopWatch != nil {
			l.stopWatch() // an interrupt under way only sets a deadline on the closed socket
		}
		l.watched, l.stopWatch, l.unwatched = nil, nil, true
		l.watchMu.Unlock()
		l.nc.Close()
		if l.hook != nil {
			l.event(false)
		}
	})
}

// end records why the link ended (the first reason wins) and closes it.
func (l *link) end(err error) {
	l.endOnce.Do(func() {
		l.err = err
		l.close()
		close(l.done)
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

// lost is the error of a link that ended.
func (l *link) lost() error {
	return fmt.Errorf("doip: connection to %s lost: %w", l.nc.RemoteAddr(), l.err)
}

// write sends one frame in a single write, bounded by deadline.
func (l *link) write(m Message, deadline time.Time) error {
	return l.writeTail(m, nil, deadline)
}

// writeTail sends one frame whose payload goes on with tail (a diagnostic message's data given
// in two parts), bounded by deadline. A large tail leaves in one writev with the rest of the
// frame, so a flash block is not copied first, and a FrameHook sees it in the same two parts.
func (l *link) writeTail(m Message, tail []byte, deadline time.Time) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.wdl.Before(deadline) || l.wdl.Sub(deadline) > deadlineSlack {
		l.wdl = deadline.Add(deadlineSlack)
		l.nc.SetWriteDeadline(l.wdl)
	}
	l.wbuf = AppendFrame(l.wbuf[:0], l.version, m)
	vector := len(tail) >= vectorWrite
	if len(tail) > 0 {
		binary.BigEndian.PutUint32(l.wbuf[4:8], uint32(len(l.wbuf)-HeaderLen+len(tail)))
		if !vector {
			l.wbuf, tail = append(l.wbuf, tail...), nil
		}
	}
	// Reported before the write: once the bytes are out, the answer may be read and reported
	// before this goroutine runs again, and a trace must show the request first.
	if l.hook != nil {
		l.report(FrameSent, l.wbuf, tail)
	}
	var err error
	if vector {
		l.vecs = [2][]byte{l.wbuf, tail}
		l.vec = l.vecs[:]
		_, err = l.vec.WriteTo(l.nc)
		l.vecs, l.vec = [2][]byte{}, nil // do not keep the caller's buffer, even after a failed write
	} else {
		_, err = l.nc.Write(l.wbuf)
	}
	if err != nil {
		l.close() // a partly written frame leaves the stream out of sync
		return fmt.Errorf("doip: write %v to %s: %w", m.Type(), l.nc.RemoteAddr(), err)
	}
	return nil
}

// setReadDeadline sets nc's read deadline to d (zero: none) unless the one already set expires
// no later than d. An early expiry is retried by read (readFrame, readIdle), at most once per
// kept deadline; asking how soon the kept one expires would cost a clock read per frame.
func (l *link) setReadDeadline(d time.Time) {
	if l.rdlSet && !l.rdl.IsZero() && (d.IsZero() || !l.rdl.After(d)) {
		return
	}
	l.nc.SetReadDeadline(d)
	l.rdl, l.rdlSet = d, true
}

// background is the reader of an idle link: when kicked it takes the read token, reads and
// dispatches frames until a caller wants the token back, and returns it.
func (l *link) background() {
	for {
		select {
		case <-l.rt.kicked():
		case <-l.closing:
			l.end(net.ErrClosed)
			return
		}
		if !l.rt.tryTake() {
			continue // a caller holds the token; it kicks again when it is done
		}
		if !l.readIdle() {
			return
		}
		l.rt.put()
	}
}

// readIdle reads for the background reader until a caller asks for the token (true) or the
// link ends (false).
func (l *link) readIdle() bool {
	if l.stalled != nil {
		select {
		case l.diag <- l.stalled:
			l.stalled = nil
		case <-l.closing:
			l.end(net.ErrClosed)
			return false
		}
	}
	for {
		if l.rt.asked() {
			l.rdlSet = false // the caller may have set a deadline in the past to stop us
			return true
		}
		l.setReadDeadline(time.Time{})
		h, p, err := l.rd.Next()
		if err == nil && l.hook != nil {
			l.report(FrameReceived, l.rd.last(h), nil)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			l.rdlSet = false
			continue
		}
		if err != nil {
			if l.badFrame(err) {
				continue
			}
			return false
		}
		ev, m := l.dispatch(h, p)
		switch {
		case m != nil:
			select {
			case l.diag <- m:
			case <-l.closing:
				l.end(net.ErrClosed)
				return false
			}
		case ev.typ != 0:
			l.post(ev)
		}
	}
}

// badFrame answers a frame the Reader refused with a generic NACK; true if the stream can go
// on. Otherwise it ends the link with err.
func (l *link) badFrame(err error) bool {
	var de *Error
	if errors.As(err, &de) {
		l.write(&GenericNACK{Code: de.NACK}, time.Now().Add(DefaultControlTimeout))
		if !de.Close {
			return true
		}
	}
	l.end(err)
	return false
}

// dispatch acts on one frame read by whoever holds the token: it answers alive checks itself
// and returns a diagnostic message for this tester or an answer for the waiting caller.
func (l *link) dispatch(h Header, p []byte) (event, *DiagnosticMessage) {
	switch h.Type {
	case TypeDiagnosticMessage:
		m := &DiagnosticMessage{}
		if m.UnmarshalPayload(p) != nil || m.Target != l.tester {
			return event{}, nil // not for this tester: a gateway misrouted it
		}
		return event{}, m
	case TypeAliveCheckRequest:
		if err := l.write(&AliveCheckResponse{SourceAddress: l.tester}, time.Now().Add(DefaultControlTimeout)); err != nil {
			l.end(err)
		}
	case TypeDiagnosticACK:
		var ack DiagnosticACK
		if ack.UnmarshalPayload(p) == nil {
			return event{typ: h.Type, code: ack.Code, source: ack.Source, target: ack.Target}, nil
		}
	case TypeDiagnosticNACK:
		var nack DiagnosticNACK
		if nack.UnmarshalPayload(p) == nil {
			return event{typ: h.Type, code: byte(nack.Code), source: nack.Source, target: nack.Target}, nil
		}
	case TypeRoutingActivationResponse, TypeAliveCheckResponse, TypeGenericNACK:
		m, _ := NewMessage(h.Type)
		if m.UnmarshalPayload(p) == nil {
			ev := event{typ: h.Type, msg: m}
			if g, ok := m.(*GenericNACK); ok {
				ev.code = byte(g.Code)
			}
			return ev, nil
		}
	}
	return event{}, nil
}

// post hands an answer to the waiting caller; with nobody waiting, the oldest stale answer is
// dropped rather than blocking the background reader.
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

// errTimerExpired tells a waiter that its own deadline, not its context, ended the wait.
var errTimerExpired = errors.New("timer expired")

// awaitAnswer returns the next answer (an ACK, NACK or control response) for the caller,
// waiting until deadline (zero: none; errTimerExpired) or ctx ends. Answers handed over before
// the connection dropped win over the drop, so a denial followed by a close is still reported
// as the denial.
func (l *link) awaitAnswer(ctx context.Context, deadline time.Time) (event, error) {
	defer l.rt.ended()
	var timer <-chan time.Time
	stalled := false // the socket waits for Receive to drain its queue: leave it to the background reader
	for {
		select {
		case ev := <-l.events:
			return ev, nil
		default:
		}
		if stalled || !l.rt.tryTake() {
			if timer == nil && !deadline.IsZero() {
				t := time.NewTimer(time.Until(deadline))
				defer t.Stop()
				timer = t.C
			}
			var tokc <-chan struct{}
			if !stalled {
				tokc = l.rt.c()
				l.reclaim()
			}
			select {
			case ev := <-l.events:
				return ev, nil
			case <-tokc:
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
		ev, ok, err := l.readAnswer(ctx, deadline)
		l.rt.put()
		if ok {
			return ev, err
		}
		stalled = true
	}
}

// awaitMessage returns the next diagnostic message for this tester, waiting until deadline
// (zero: none; errTimerExpired) or ctx ends. Messages queued before the connection dropped win
// over the drop.
func (l *link) awaitMessage(ctx context.Context, deadline time.Time) (*DiagnosticMessage, error) {
	defer l.rt.ended()
	select {
	case m := <-l.diag:
		return m, nil
	default:
	}
	if !l.rt.tryTake() {
		l.reclaim()
		var timer <-chan time.Time
		if !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			timer = t.C
		}
		select {
		case m := <-l.diag:
			return m, nil
		case <-l.rt.c():
		case <-l.done:
			select {
			case m := <-l.diag:
				return m, nil
			default:
				return nil, l.lost()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer:
			return nil, errTimerExpired
		}
	}
	m, err := l.readMessage(ctx, deadline)
	l.rt.put()
	return m, err
}

// reclaim asks the background reader, which holds the token, to give it back, and interrupts
// its blocked read.
func (l *link) reclaim() {
	l.rt.ask()
	l.nc.SetReadDeadline(aLongTimeAgo)
}

// interrupt ends the read of a caller whose context ended.
func (l *link) interrupt() {
	l.nc.SetReadDeadline(aLongTimeAgo)
	l.interrupted <- struct{}{}
}

// readAnswer reads the socket with the token held until it has the answer the caller waits
// for, queueing the diagnostic messages it reads for Receive; ok is false when it had to stop
// because a diagnostic message found Receive's queue full.
func (l *link) readAnswer(ctx context.Context, deadline time.Time) (ev event, ok bool, err error) {
	l.rt.asked() // forget a stale request of an earlier wait
	// What the background reader handed over before it gave the token back comes first.
	select {
	case ev := <-l.events:
		return ev, true, nil
	default:
	}
	if l.stalled != nil {
		l.rt.wake()
		return event{}, false, nil
	}
	deadline, ctxBound := readDeadline(ctx, deadline)
	l.interruptOn(ctx)
	for {
		h, p, err := l.readFrame(ctx, deadline, ctxBound)
		if err != nil {
			return event{}, true, err
		}
		ev, m := l.dispatch(h, p)
		switch {
		case m != nil:
			select {
			case l.diag <- m:
			default:
				l.stalled = m
				l.rt.wake()
				return event{}, false, nil
			}
		case ev.typ != 0:
			return ev, true, nil
		}
	}
}

// readMessage reads the socket with the token held until it has a diagnostic message for this
// tester or deadline passes, posting the answers it reads as the background reader would.
func (l *link) readMessage(ctx context.Context, deadline time.Time) (*DiagnosticMessage, error) {
	l.rt.asked() // forget a stale request of an earlier wait
	// What the background reader handed over before it gave the token back comes first.
	select {
	case m := <-l.diag:
		return m, nil
	default:
	}
	if m := l.stalled; m != nil {
		l.stalled = nil
		return m, nil
	}
	deadline, ctxBound := readDeadline(ctx, deadline)
	l.interruptOn(ctx)
	for {
		h, p, err := l.readFrame(ctx, deadline, ctxBound)
		if err != nil {
			return nil, err
		}
		ev, m := l.dispatch(h, p)
		switch {
		case m != nil:
			return m, nil
		case ev.typ != 0:
			l.post(ev) // an answer nobody waits for now, as the background reader would leave it
		}
	}
}

// readDeadline is the earlier of deadline (zero: none) and ctx's; ctxBound says it is ctx's.
func readDeadline(ctx context.Context, deadline time.Time) (time.Time, bool) {
	if d, has := ctx.Deadline(); has && (deadline.IsZero() || !d.After(deadline)) {
		return d, true
	}
	return deadline, false
}

// interruptOn makes ctx's end interrupt the token holder's read. The registration stays for
// the next reads with the same context (a caller's calls mostly share one), so a round trip
// does not register and unregister twice; an interrupt that comes between reads makes the next
// read with that context end at once with its error, which is what it would do anyway.
func (l *link) interruptOn(ctx context.Context) {
	l.watchMu.Lock()
	defer l.watchMu.Unlock()
	if ctx == l.watched || l.unwatched {
		return
	}
	// Undo the registration on the earlier context, waiting for an interrupt already under
	// way so that it cannot hit a read for this one.
	if l.stopWatch != nil && !l.stopWatch() {
		<-l.interrupted
		l.rdlSet = false
	}
	l.watched, l.stopWatch = nil, nil
	if ctx.Done() != nil { // else a context that never ends
		l.watched, l.stopWatch = ctx, context.AfterFunc(ctx, l.interruptFn)
	}
}

// readFrame reads the next frame the token holder must dispatch, bounded by deadline (zero:
// none; ctxBound: it is ctx's). It retries an early expiry of a deadline kept for a later one,
// answers refused frames, and returns ctx's error, errTimerExpired or the lost connection.
func (l *link) readFrame(ctx context.Context, deadline time.Time, ctxBound bool) (Header, []byte, error) {
	for {
		select {
		case <-l.done:
			return Header{}, nil, l.lost()
		default:
		}
		if !l.rd.buffered() {
			l.setReadDeadline(deadline)
		}
		h, p, err := l.rd.Next()
		if err == nil && l.hook != nil {
			l.report(FrameReceived, l.rd.last(h), nil)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			l.rdlSet = false
			switch {
			case ctx.Err() != nil:
				return Header{}, nil, ctx.Err()
			case deadline.IsZero() || time.Now().Before(deadline):
				continue // an early expiry of a deadline kept for a later one
			case ctxBound:
				<-ctx.Done() // due now
				return Header{}, nil, ctx.Err()
			}
			return Header{}, nil, errTimerExpired
		}
		if err != nil {
			if l.badFrame(err) {
				continue
			}
			return Header{}, nil, l.lost()
		}
		return h, p, nil
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
