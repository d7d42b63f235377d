package doip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// serverConn is one TCP socket of a Server: its state machine runs on one goroutine (serve),
// while alive-check probes and closes may come from others.
type serverConn struct {
	s      *Server
	nc     net.Conn
	rd     *Reader
	ctx    context.Context // ends when the socket closes, for the handlers running on it
	cancel context.CancelFunc

	wmu     sync.Mutex // one frame write at a time
	wbuf    []byte     // frames not yet written: a corked diagnostic ACK (see queueACK)
	flusher *time.Timer

	// Owned by the serve goroutine; read by others under s.mu.
	activated bool
	source    uint16

	frames    atomic.Uint64 // frames received, so a probe sees any sign of life
	busy      atomic.Bool   // serve is processing a frame (for example running a handler)
	aliveMu   sync.Mutex
	aliveWait chan struct{} // signalled by an alive check response
	closeOnce sync.Once

	msg DiagnosticMessage // reused for every diagnostic message on this socket
	req Request
	rw  responseWriter
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	c := &serverConn{s: s, nc: nc, rd: NewReader(nc, s.maxFrameSize())}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	c.rw.c = c
	return c
}

// close ends the socket; safe from any goroutine and more than once.
func (c *serverConn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.nc.Close()
		c.wmu.Lock()
		if c.flusher != nil {
			c.flusher.Stop()
		}
		c.wmu.Unlock()
	})
}

// serve is the socket's state machine: read a frame, act on it, until a fault, a timeout or close.
func (c *serverConn) serve() {
	defer c.close()
	log := c.s.Logger.WithValues("remote", c.nc.RemoteAddr())
	general := c.s.timeout(c.s.GeneralInactivity, DefaultGeneralInactivity)
	c.nc.SetReadDeadline(time.Now().Add(c.s.timeout(c.s.InitialInactivity, DefaultInitialInactivity)))
	for {
		if c.activated {
			c.nc.SetReadDeadline(time.Now().Add(general))
		}
		c.busy.Store(false)
		h, p, err := c.rd.Next()
		c.busy.Store(true)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					log.V(1).Info("Closing inactive TCP socket", "activated", c.activated)
				}
				return
			}
			log.V(1).Info("Answering bad frame with generic NACK", "code", de.NACK, "close", de.Close, "error", de.Err)
			if c.writeMsg(&GenericNACK{Code: de.NACK}) != nil || de.Close {
				return
			}
			continue
		}
		c.frames.Add(1)
		if !c.dispatch(h, p) {
			return
		}
	}
}

// dispatch acts on one well-formed frame; false closes the socket.
func (c *serverConn) dispatch(h Header, p []byte) bool {
	switch h.Type {
	case TypeRoutingActivationRequest:
		var req RoutingActivationRequest
		if err := req.UnmarshalPayload(p); err != nil {
			return false
		}
		resp := c.s.activate(c, &req)
		return c.writeMsg(resp) == nil && !resp.Code.closesSocket()
	case TypeAliveCheckRequest:
		return c.writeMsg(&AliveCheckResponse{SourceAddress: c.s.LogicalAddress}) == nil
	case TypeAliveCheckResponse:
		c.aliveMu.Lock()
		if c.aliveWait != nil {
			select {
			case c.aliveWait <- struct{}{}:
			default:
			}
		}
		c.aliveMu.Unlock()
		return true
	case TypeDiagnosticMessage:
		if err := c.msg.UnmarshalPayload(p); err != nil {
			return false
		}
		return c.diagnostic(&c.msg)
	case TypeDiagnosticACK, TypeDiagnosticNACK, TypeGenericNACK:
		return true // a tester's acknowledgement needs no answer
	}
	// A UDP-only type (or one only an entity sends) arrived on TCP: not supported here.
	return c.writeMsg(&GenericNACK{Code: NACKUnknownPayloadType}) == nil
}

// diagnostic validates a diagnostic message, acknowledges it and runs the Handler on it.
func (c *serverConn) diagnostic(m *DiagnosticMessage) bool {
	nack := func(code DiagnosticNACKCode) error {
		return c.writeMsg(&DiagnosticNACK{Source: m.Target, Target: m.Source, Code: code})
	}
	switch {
	case !c.activated || m.Source != c.source:
		nack(DiagNACKInvalidSource)
		return false
	case !c.s.servesTarget(m.Target):
		return nack(DiagNACKUnknownTarget) == nil
	case uint64(len(m.Data)) > uint64(c.s.maxDataSize()):
		return nack(DiagNACKMessageTooLarge) == nil
	}
	if c.s.Handler == nil {
		return c.writeMsg(&DiagnosticACK{Source: m.Target, Target: m.Source}) == nil
	}
	c.queueACK(m.Target, m.Source)
	c.req = Request{Source: m.Source, Target: m.Target, Data: m.Data, RemoteAddr: c.nc.RemoteAddr()}
	c.rw.source, c.rw.target = m.Target, m.Source
	ok := c.runHandler()
	return c.flush() == nil && ok
}

// ackCork is how long a diagnostic ACK may wait for the handler's first response, so a fast
// handler's ACK and response leave in one TCP write (one syscall, one segment) while a slow
// handler's ACK still goes out far within the 50 ms ISO 13400-2 allows.
const ackCork = time.Millisecond

// queueACK puts the diagnostic ACK first in the write buffer, ahead of anything the handler
// writes; it goes out with the handler's first Write, when the handler returns, or after
// ackCork, whichever comes first.
func (c *serverConn) queueACK(source, target uint16) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendAck(Header{Version: c.s.version(), Type: TypeDiagnosticACK, Length: 5}.Marshal(c.wbuf[:0]), source, target, 0, nil)
	if c.flusher == nil {
		c.flusher = time.AfterFunc(ackCork, func() { c.flush() })
	} else {
		c.flusher.Reset(ackCork)
	}
}

// flush writes whatever is buffered (the corked ACK).
func (c *serverConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeBuffered(time.Now().Add(serverWriteTimeout))
}

// runHandler calls the Handler, turning a panic into a closed socket rather than a dead server.
func (c *serverConn) runHandler() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.s.Logger.Error(fmt.Errorf("%v", r), "Handler panicked; closing its socket", "remote", c.nc.RemoteAddr())
			ok = false
		}
	}()
	c.s.Handler.ServeDoIP(c.ctx, &c.rw, &c.req)
	return c.ctx.Err() == nil
}

// writeMsg sends one frame with a single write.
func (c *serverConn) writeMsg(m Message) error {
	return c.writeMsgDeadline(m, time.Now().Add(serverWriteTimeout))
}

func (c *serverConn) writeMsgDeadline(m Message, deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendFrame(c.wbuf, c.s.version(), m)
	return c.writeBuffered(deadline)
}

// writeBuffered sends the write buffer in one write; the caller holds wmu.
func (c *serverConn) writeBuffered(deadline time.Time) error {
	if len(c.wbuf) == 0 {
		return nil
	}
	if c.flusher != nil {
		c.flusher.Stop()
	}
	c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) > initialReadBuffer {
		c.wbuf = nil // do not pin one large response's buffer for the socket's lifetime
	}
	return err
}

// probe alive-checks the socket's tester: true if it shows any sign of life within timeout.
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
	if c.writeMsgDeadline(&AliveCheckRequest{}, time.Now().Add(timeout)) != nil {
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
		// A socket that sent anything else meanwhile, or is still busy with a request, is alive.
		return c.frames.Load() != seen || c.busy.Load()
	}
}

// responseWriter is the ResponseWriter of the request being served on a socket.
type responseWriter struct {
	c              *serverConn
	source, target uint16
	msg            DiagnosticMessage
}

// Write implements ResponseWriter.
func (w *responseWriter) Write(data []byte) error {
	if len(data) == 0 {
		return errors.New("doip: a diagnostic message needs at least one UDS byte")
	}
	w.msg = DiagnosticMessage{Source: w.source, Target: w.target, Data: data}
	if err := w.c.writeMsg(&w.msg); err != nil {
		return fmt.Errorf("doip: write diagnostic response to 0x%04X: %w", w.target, err)
	}
	return nil
}
