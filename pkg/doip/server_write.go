package doip

import "time"

// serverWriteTimeout bounds one frame write so a tester that stops reading cannot block a socket forever.
const serverWriteTimeout = 10 * time.Second

// ackCork is how long a diagnostic ACK may wait for the handler's first response, so a fast
// handler's ACK and response leave in one TCP write (one syscall, one segment) while a slow
// handler's ACK still goes out far within the 50 ms ISO 13400-2 allows.
const ackCork = time.Millisecond

// queueACK sends a positive diagnostic ACK from source to target. With cork (nothing else is
// pending, so the Handler is about to run) the ACK waits in the write buffer and leaves with the
// Handler's first response, when the Handler returns, or within ackCork, whichever comes first;
// any other frame written meanwhile takes it along, ahead of itself. The cork timer is armed
// only when it is not already running and is never stopped: it flushes at most once per
// ackCork, instead of a timer update per request (each can wake the runtime's network poller).
func (c *serverConn) queueACK(source, target uint16, cork bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendAck(Header{Version: c.s.version(), Type: TypeDiagnosticACK, Length: 5}.Marshal(c.wbuf), source, target, 0, nil)
	if !cork {
		return c.writeBuffered(serverWriteTimeout)
	}
	if !c.flushArmed {
		c.flushArmed = true
		if c.flusher == nil {
			c.flusher = time.AfterFunc(c.s.ackCorkTime(), c.flushCorked)
		} else {
			c.flusher.Reset(c.s.ackCorkTime())
		}
	}
	return nil
}

// flushCorked is the cork timer: it sends a corked ACK that is still waiting.
func (c *serverConn) flushCorked() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.flushArmed = false
	c.writeBuffered(serverWriteTimeout)
}

// flush writes whatever is buffered (a corked ACK).
func (c *serverConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeBuffered(serverWriteTimeout)
}

// writeMsg sends one frame (after any corked ACK) with a single write.
func (c *serverConn) writeMsg(m Message) error {
	return c.writeMsgTimeout(m, serverWriteTimeout)
}

func (c *serverConn) writeMsgTimeout(m Message, timeout time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendFrame(c.wbuf, c.s.version(), m)
	return c.writeBuffered(timeout)
}

// writeResponse sends a Handler's diagnostic message and restarts the inactivity timer with
// the clock reading of the write's deadline: one clock read per response instead of three.
func (c *serverConn) writeResponse(m *DiagnosticMessage) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendFrame(c.wbuf, c.s.version(), m)
	now := time.Now()
	if err := c.writeBufferedAt(now, serverWriteTimeout); err != nil {
		return err
	}
	c.lastActive.Store(now.UnixNano())
	return nil
}

// writeFinal sends a frame after which the socket closes (a generic NACK that closes, a
// routing activation denial that closes, diagnostic NACK 0x02) and closes it before releasing
// the write lock, so no response of a Handler still running can follow that frame.
func (c *serverConn) writeFinal(m Message) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendFrame(c.wbuf, c.s.version(), m)
	c.writeBuffered(serverWriteTimeout)
	c.close()
}

// writeBuffered sends the write buffer, if anything is in it, in one write within timeout;
// the caller holds wmu. A failed write closes the socket: a frame written in part leaves the
// stream out of sync.
func (c *serverConn) writeBuffered(timeout time.Duration) error {
	if len(c.wbuf) == 0 {
		return nil // a corked ACK already left with its response: no clock read
	}
	return c.writeBufferedAt(time.Now(), timeout)
}

// writeBufferedAt is writeBuffered of a buffer known not to be empty, with the caller's
// clock reading now.
func (c *serverConn) writeBufferedAt(now time.Time, timeout time.Duration) error {
	// A deadline already set is kept if it is at most a 16th of the wait later than asked, so
	// a busy socket does not pay a timer update per frame.
	deadline := now.Add(timeout)
	if slack := timeout / 16; c.wdl.Before(deadline) || c.wdl.Sub(deadline) > slack {
		c.wdl = deadline.Add(slack)
		c.nc.SetWriteDeadline(c.wdl)
	}
	if c.s.Hook != nil { // before the write, so that the tester's next request never comes first
		reportFrames(c.s.Hook, FrameSent, c.nc.LocalAddr(), c.nc.RemoteAddr(), c.wbuf)
	}
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) > initialReadBuffer {
		c.wbuf = nil // do not pin one large response's buffer for the socket's lifetime
	}
	if err != nil {
		c.close()
	}
	return err
}
