package doip

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// serverConn is one TCP socket of a Server. Its reader goroutine (serve) runs the state machine
// and never waits for a Handler: it acknowledges each diagnostic message on receipt and queues
// it for the socket's worker goroutine (see server_worker.go), so alive check responses and
// further requests are read while a Handler runs. Alive-check probes and closes may come from
// other goroutines.
type serverConn struct {
	s      *Server
	nc     net.Conn
	rd     *Reader
	ctx    context.Context // ends when the socket closes, for the handlers running on it
	cancel context.CancelFunc

	wmu     sync.Mutex // one frame write at a time, whichever goroutine writes
	wbuf    []byte     // frames not yet written: a corked diagnostic ACK (see queueACK)
	flusher *time.Timer

	// Owned by the reader; read by others under s.mu.
	activated bool
	source    uint16

	frames    atomic.Uint64 // frames received, so a probe sees any sign of life
	aliveMu   sync.Mutex
	aliveWait chan struct{} // signalled by an alive check response
	closeOnce sync.Once

	msg DiagnosticMessage // the reader's decode target, reused for every diagnostic message
	q   requestQueue      // acknowledged messages on their way to the Handler
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	c := &serverConn{s: s, nc: nc, rd: NewReader(nc, s.maxFrameSize())}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	c.q.rw.c = c
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

// serve runs the socket until a fault, a timeout or close, then waits for its worker, so the
// Server counts the socket as open until its last Handler has returned.
func (c *serverConn) serve() {
	c.readLoop()
	c.close()
	c.waitWorker()
	c.wmu.Lock()
	if c.flusher != nil {
		c.flusher.Stop()
	}
	c.wmu.Unlock()
}

// readLoop is the socket's state machine: read a frame, act on it, until a fault or a timeout.
func (c *serverConn) readLoop() {
	log := c.s.Logger.WithValues("remote", c.nc.RemoteAddr())
	c.nc.SetReadDeadline(time.Now().Add(c.s.timeout(c.s.InitialInactivity, DefaultInitialInactivity)))
	for {
		if c.activated {
			c.restartInactivity()
		}
		h, p, err := c.rd.Next()
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
			if de.Close {
				c.writeFinal(&GenericNACK{Code: de.NACK})
				return
			}
			if c.writeMsg(&GenericNACK{Code: de.NACK}) != nil {
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

// restartInactivity restarts T_TCP_General_Inactivity. The reader calls it for every frame
// received after activation, the worker for every response sent, so a socket whose Handler is
// still answering (a long response pending chain) is not closed as idle.
func (c *serverConn) restartInactivity() {
	c.nc.SetReadDeadline(time.Now().Add(c.s.timeout(c.s.GeneralInactivity, DefaultGeneralInactivity)))
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
		if resp.Code.closesSocket() {
			c.writeFinal(resp)
			return false
		}
		return c.writeMsg(resp) == nil
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

// diagnostic validates a diagnostic message, then acknowledges it and queues it for the Handler.
func (c *serverConn) diagnostic(m *DiagnosticMessage) bool {
	switch {
	case !c.activated || m.Source != c.source:
		c.writeFinal(&DiagnosticNACK{Source: m.Target, Target: m.Source, Code: DiagNACKInvalidSource})
		return false
	case !c.s.servesTarget(m.Target):
		return c.nack(m, DiagNACKUnknownTarget) == nil
	case uint64(len(m.Data)) > uint64(c.s.maxDataSize()):
		return c.nack(m, DiagNACKMessageTooLarge) == nil
	case c.s.Handler == nil:
		return c.queueACK(m.Target, m.Source, false) == nil
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
		return c.frames.Load() != seen // a tester that sent anything else meanwhile is alive
	}
}
