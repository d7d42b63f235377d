package doip

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// maxQueuedRequests is how many diagnostic messages may wait on one socket behind the one its
// Handler is serving. One more is refused with diagnostic NACK 0x05 (out of memory), which
// ISO 13400-2 provides for a message the entity cannot buffer, instead of the socket stalling.
const maxQueuedRequests = 16

// handlerTakeover is the tick of the timer that lets a Handler run on the socket's reader
// goroutine for one to two ticks before a new goroutine takes over reading, so a fast Handler
// costs no goroutine hand-off while alive check answers and further requests are still read
// soon after a slow one starts.
const handlerTakeover = time.Millisecond

// requestQueue carries acknowledged diagnostic messages from a socket's reader to its worker
// goroutine, which calls the Handler for one message at a time, in arrival order, once any
// Handler running on a reader (see serveInline) has returned.
type requestQueue struct {
	jobs    chan *job      // made with the worker, on the socket's first diagnostic message
	done    chan struct{}  // closed when the worker has returned
	pending atomic.Int32   // messages accepted and not finished: waiting plus the one being served
	bytes   atomic.Int64   // UDS bytes of the pending messages
	serving sync.Mutex     // held while a Handler runs, so Handlers run one at a time and in order
	rw      responseWriter // the writer of the Handler that holds serving, reused for every request
}

// job is one acknowledged diagnostic message: the Request the Handler sees and, for a queued
// one, the buffer that owns its Data. A message served inline keeps its Data in the reader's
// buffer, which stays untouched until the Handler returns or a takeover detaches it.
type job struct {
	req Request
	buf []byte
}

// jobPool recycles jobs and their buffers, so a request allocates nothing in steady state.
var jobPool = sync.Pool{New: func() any { return new(job) }}

// release returns j to the pool, without a buffer grown for one large request.
func (j *job) release() {
	j.req = Request{}
	if cap(j.buf) > initialReadBuffer {
		j.buf = nil
	}
	jobPool.Put(j)
}

// enqueue acknowledges m and has the Handler serve it: on this reader goroutine when nothing
// else is pending, else through the worker's queue. When maxQueuedRequests messages already
// wait, or the pending ones would hold more than two maximal requests' worth of UDS bytes, it
// answers diagnostic NACK 0x05 instead: memory per socket stays bounded and the reader never
// blocks. The ACK is written before the message is served, so it precedes the Handler's
// responses; on an idle socket it is corked to leave in one write with the first of them.
func (c *serverConn) enqueue(m *DiagnosticMessage) readNext {
	q := &c.q
	n, size := q.pending.Load(), int64(len(m.Data))
	if n > maxQueuedRequests || n > 0 && q.bytes.Load()+size > 2*int64(c.s.maxDataSize()) {
		c.s.Logger.V(1).Info("Refusing diagnostic message: request queue full", "remote", c.nc.RemoteAddr(),
			"pending", n, "pendingBytes", q.bytes.Load(), "size", size)
		return readOnIf(c.nack(m, DiagNACKOutOfMemory) == nil)
	}
	if err := c.queueACK(m.Target, m.Source, n == 0); err != nil {
		return readEnd
	}
	j := jobPool.Get().(*job)
	j.req = Request{Source: m.Source, Target: m.Target, Data: m.Data, RemoteAddr: c.nc.RemoteAddr()}
	q.pending.Add(1)
	q.bytes.Add(size)
	if n == 0 {
		return c.serveInline(j)
	}
	j.buf = append(j.buf[:0], m.Data...)
	j.req.Data = j.buf
	if q.jobs == nil {
		q.jobs = make(chan *job, maxQueuedRequests+1) // never full: pending is checked above
		q.done = make(chan struct{})
		go c.work()
	}
	q.jobs <- j
	return readOn
}

// serveInline serves j on the reader goroutine, which holds readMu. While the Handler runs,
// nobody reads the socket: if it runs on through two ticks of the takeover timer (between one
// and two handlerTakeover), a new goroutine claims the socket and becomes its reader, and this
// one stops reading once the Handler returns (readMoved). Otherwise this goroutine claims the
// socket back and reads on. Exactly one of the two claims succeeds (handoff).
func (c *serverConn) serveInline(j *job) readNext {
	c.handlers.Add(1)
	defer c.handlers.Done()
	c.inlines.Add(1)
	c.handoff.Store(true)
	c.armTakeover()
	c.readMu.Unlock()
	ok := c.serveJob(j)
	if !ok {
		c.close()
	}
	if !c.handoff.CompareAndSwap(true, false) {
		return readMoved
	}
	c.readMu.Lock()
	return readOnIf(ok)
}

// armTakeover starts the takeover timer unless it runs. It is never stopped: it ticks while
// inline Handlers keep starting and disarms itself at a tick with none running, instead of a
// timer update per request (each can wake the runtime's network poller).
func (c *serverConn) armTakeover() {
	if !c.armed.CompareAndSwap(false, true) {
		return
	}
	c.takeover.Reset(handlerTakeover)
}

// takeoverTick makes the timer's goroutine the socket's reader if the inline Handler that runs
// now already ran at the previous tick.
func (c *serverConn) takeoverTick() {
	n := c.inlines.Load()
	long := c.watched.Swap(n) == n
	if c.handoff.Load() && long && c.handoff.CompareAndSwap(true, false) {
		c.armed.Store(false)
		c.readMu.Lock()
		c.rd.detach() // the running Handler's request lives in the old buffer
		c.read()
		return
	}
	if c.handoff.Load() {
		c.takeover.Reset(handlerTakeover)
		return
	}
	c.armed.Store(false)
	if c.handoff.Load() { // an inline run started as the timer disarmed
		c.armTakeover()
	}
}

// work is the socket's worker: it calls the Handler for each queued message in order until the
// socket closes. Messages still queued then are dropped unanswered: their tester is gone.
func (c *serverConn) work() {
	defer close(c.q.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case j := <-c.q.jobs:
			if !c.serveJob(j) {
				c.close()
				return
			}
		}
	}
}

// waitWorker returns once the socket's worker, if it was ever started, has returned.
func (c *serverConn) waitWorker() {
	if c.q.done != nil {
		<-c.q.done
	}
}

// serveJob runs the Handler on j, unless the socket has closed meanwhile (queued messages of a
// gone tester are dropped), and sends whatever it left corked; false closes the socket. The socket counts as idle again as soon as the Handler returns, so the ACK of a request that
// arrives next is still corked with its response; a corked ACK still buffered then leaves
// first, as the buffer is written in order.
func (c *serverConn) serveJob(j *job) bool {
	c.q.serving.Lock()
	defer c.q.serving.Unlock()
	size := int64(len(j.req.Data))
	ok := c.ctx.Err() == nil && c.runHandler(&j.req)
	c.q.bytes.Add(-size)
	c.q.pending.Add(-1)
	j.release()
	return ok && c.flush() == nil
}

// runHandler calls the Handler, turning a panic into a closed socket rather than a dead server.
func (c *serverConn) runHandler(r *Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.s.Logger.Error(fmt.Errorf("%v", p), "Handler panicked; closing its socket", "remote", c.nc.RemoteAddr())
			ok = false
		}
	}()
	c.q.rw.source, c.q.rw.target = r.Target, r.Source
	c.s.Handler.ServeDoIP(c.ctx, &c.q.rw, r)
	return c.ctx.Err() == nil
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
	err := w.c.writeResponse(&w.msg)
	w.msg.Data = nil // do not keep the Handler's buffer
	if err != nil {
		return fmt.Errorf("doip: write diagnostic response to 0x%04X: %w", w.target, err)
	}
	return nil
}
