package doip

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// serverConn is one TCP socket of a Server. Its reader runs the state machine and is never
// blocked by a Handler for long: it acknowledges each diagnostic message on receipt and runs
// the Handler itself when nothing else is pending, handing the socket to a new reader if the
// Handler has not returned within handlerTakeover; messages that arrive while a Handler runs
// are queued for the socket's worker goroutine (see server_worker.go). So alive check responses
// and further requests are read while a Handler runs. Alive-check probes and closes may come
// from other goroutines.
type serverConn struct {
	s      *Server
	nc     net.Conn
	rd     *Reader
	ctx    context.Context // ends when the socket closes, for the handlers running on it
	cancel context.CancelFunc

	wmu        sync.Mutex // one frame write at a time, whichever goroutine writes
	wbuf       []byte     // frames not yet written: a corked diagnostic ACK (see queueACK)
	flusher    *time.Timer
	flushArmed bool // flusher runs; under wmu

	// Owned by the reader; read by others under s.mu.
	activated bool
	source    uint16

	generalArmed bool // the read deadline follows T_TCP_General_Inactivity; owned by the reader

	wdl time.Time // the write deadline set on nc; under wmu

	// The read deadline is moved only when it falls due (see inactive), not for every frame:
	// lastActive is when the inactivity timer last restarted, in Unix nanoseconds.
	lastActive atomic.Int64

	frames    atomic.Uint64 // frames received, so a probe sees any sign of life
	aliveMu   sync.Mutex
	aliveWait chan struct{} // signalled by an alive check response
	closeOnce sync.Once

	msg DiagnosticMessage // the diagnostic message just read; its Data aliases rd's buffer
	q   requestQueue      // acknowledged messages on their way to the Handler

	readMu   sync.Mutex     // held by the goroutine that is the socket's reader
	readDone chan struct{}  // closed when the last reader has ended
	handlers sync.WaitGroup // inline Handlers still running
	handoff  atomic.Bool    // an inline Handler runs and nobody reads: its runner or takeover claims the socket
	inlines  atomic.Uint64  // inline Handler runs started, so takeover can tell a long run from a new one
	takeover *time.Timer    // watches inline Handlers while armed
	watched  atomic.Uint64  // inlines at takeover's last tick
	armed    atomic.Bool    // takeover is running
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	c := &serverConn{s: s, nc: nc, rd: NewReader(nc, s.maxFrameSize()), readDone: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	c.q.rw.c = c
	c.takeover = time.AfterFunc(time.Hour, c.takeoverTick)
	c.takeover.Stop() // armed by armTakeover
	return c
}

// close ends the socket and cancels its Handler's context; safe from any goroutine (also with
// wmu held) and more than once.
func (c *serverConn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.nc.Close()
	})
}

// serve runs the socket until a fault, a timeout or close, then waits for its readers and
// Handlers, so the Server counts the socket as open until its last Handler has returned.
func (c *serverConn) serve() {
	c.nc.SetReadDeadline(time.Now().Add(c.s.timeout(c.s.InitialInactivity, DefaultInitialInactivity)))
	c.readMu.Lock()
	c.read()
	<-c.readDone
	c.close()
	c.handlers.Wait()
	c.waitWorker()
	c.takeover.Stop()
	c.wmu.Lock()
	if c.flusher != nil {
		c.flusher.Stop()
	}
	if c.s.Hook != nil { // under wmu, after the last reader and writer: no frame follows it
		reportConn(c.s.Hook, false, c.nc.LocalAddr(), c.nc.RemoteAddr())
	}
	c.wmu.Unlock()
}

// read runs the read loop on this goroutine, which holds readMu, until the socket ends (then
// it closes the socket, which ends the context of a Handler still running, and readDone) or the
// reader role moves on to another goroutine.
func (c *serverConn) read() {
	if c.readLoop() {
		return
	}
	c.close()
	c.readMu.Unlock()
	close(c.readDone)
}

// readLoop is the socket's state machine: read a frame, act on it, until a fault or a timeout
// (false) or until another goroutine took the reader role over (true).
func (c *serverConn) readLoop() (moved bool) {
	log := c.s.Logger.WithValues("remote", c.nc.RemoteAddr())
	for {
		if c.activated && !c.generalArmed { // the initial inactivity timeout ends with activation
			c.generalArmed = true
			c.restartInactivity()
			c.nc.SetReadDeadline(time.Now().Add(c.s.timeout(c.s.GeneralInactivity, DefaultGeneralInactivity)))
		}
		h, p, err := c.rd.Next()
		if err == nil && c.activated {
			c.restartInactivity()
		}
		if err == nil && c.s.Hook != nil {
			reportFrame(c.s.Hook, FrameReceived, false, c.nc.LocalAddr(), c.nc.RemoteAddr(), c.rd.last(h))
		}
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					if !c.inactive() {
						continue
					}
					log.V(1).Info("Closing inactive TCP socket", "activated", c.activated)
				}
				return false
			}
			log.V(1).Info("Answering bad frame with generic NACK", "code", de.NACK, "close", de.Close, "error", de.Err)
			if de.Close {
				c.writeFinal(&GenericNACK{Code: de.NACK})
				return false
			}
			if c.writeMsg(&GenericNACK{Code: de.NACK}) != nil {
				return false
			}
			continue
		}
		c.frames.Add(1)
		switch c.dispatch(h, p) {
		case readEnd:
			return false
		case readMoved:
			return true
		}
	}
}

// readNext is what the reader does after a frame.
type readNext int

const (
	readOn    readNext = iota // read the next frame
	readEnd                   // close the socket
	readMoved                 // stop: another goroutine has become the reader
)

// readOnIf is readOn if ok, else readEnd.
func readOnIf(ok bool) readNext {
	if ok {
		return readOn
	}
	return readEnd
}

// restartInactivity restarts T_TCP_General_Inactivity. The reader calls it for every frame
// received after activation, and writeResponse does the same for every response sent, so a
// socket whose Handler is still answering (a long response pending chain) is not closed as
// idle. It only notes the time: a deadline update per frame would cost a runtime timer
// update each.
func (c *serverConn) restartInactivity() {
	c.lastActive.Store(time.Now().UnixNano())
}

// inactive is called when the read deadline expired: true if the socket has been inactive for
// its whole timeout, else it moves the deadline to when that will be and the reader reads on.
func (c *serverConn) inactive() bool {
	last := c.lastActive.Load()
	if !c.generalArmed {
		return true // before activation the initial inactivity timeout is never restarted
	}
	due := time.Unix(0, last).Add(c.s.timeout(c.s.GeneralInactivity, DefaultGeneralInactivity))
	if !time.Now().Before(due) {
		return true
	}
	c.nc.SetReadDeadline(due)
	return false
}

// dispatch acts on one well-formed frame.
func (c *serverConn) dispatch(h Header, p []byte) readNext {
	switch h.Type {
	case TypeRoutingActivationRequest:
		var req RoutingActivationRequest
		if err := req.UnmarshalPayload(p); err != nil {
			return readEnd
		}
		resp := c.s.activate(c, &req)
		if resp.Code.closesSocket() {
			c.writeFinal(resp)
			return readEnd
		}
		return readOnIf(c.writeMsg(resp) == nil)
	case TypeAliveCheckRequest:
		return readOnIf(c.writeMsg(&AliveCheckResponse{SourceAddress: c.s.LogicalAddress}) == nil)
	case TypeAliveCheckResponse:
		c.aliveMu.Lock()
		if c.aliveWait != nil {
			select {
			case c.aliveWait <- struct{}{}:
			default:
			}
		}
		c.aliveMu.Unlock()
		return readOn
	case TypeDiagnosticMessage:
		if checkPayload(TypeDiagnosticMessage, p) != nil {
			return readEnd
		}
		c.msg.view(p) // aliases the reader's buffer: enqueue copies what it queues
		return c.diagnostic(&c.msg)
	case TypeDiagnosticACK, TypeDiagnosticNACK, TypeGenericNACK:
		return readOn // a tester's acknowledgement needs no answer
	}
	// A UDP-only type (or one only an entity sends) arrived on TCP: not supported here.
	return readOnIf(c.writeMsg(&GenericNACK{Code: NACKUnknownPayloadType}) == nil)
}

// diagnostic validates a diagnostic message, then acknowledges it and has the Handler serve it.
func (c *serverConn) diagnostic(m *DiagnosticMessage) readNext {
	switch {
	case !c.activated || m.Source != c.source:
		c.writeFinal(&DiagnosticNACK{Source: m.Target, Target: m.Source, Code: DiagNACKInvalidSource})
		return readEnd
	case !c.s.servesTarget(m.Target):
		return readOnIf(c.nack(m, DiagNACKUnknownTarget) == nil)
	case uint64(len(m.Data)) > uint64(c.s.maxDataSize()):
		return readOnIf(c.nack(m, DiagNACKMessageTooLarge) == nil)
	case c.s.Handler == nil:
		return readOnIf(c.queueACK(m.Target, m.Source, false) == nil)
	}
	return c.enqueue(m)
}

// nack refuses diagnostic message m with code.
func (c *serverConn) nack(m *DiagnosticMessage, code DiagnosticNACKCode) error {
	return c.writeMsg(&DiagnosticNACK{Source: m.Target, Target: m.Source, Code: code})
}

// probe alive-checks the socket's tester: true if it shows any sign of life within timeout.
// The reader goroutine keeps reading while a Handler runs, so a busy tester's answer is seen.
func (c *serverConn) probe(timeout time.Duration) bool {
	if c.ctx.Err() != nil {
		return false
	}
	seen := c.frames.Load()
	wait := make(chan struct{}, 1)
	c.aliveMu.Lock()
	c.aliveWait = wait
	c.aliveMu.Unlock()
	defer func() {
		c.aliveMu.Lock()
		c.aliveWait = nil
		c.aliveMu.Unlock()
	}()
	if c.writeMsgTimeout(&AliveCheckRequest{}, timeout) != nil {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-wait:
		return true
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return c.frames.Load() != seen // a tester that sent anything else meanwhile is alive
	}
}
