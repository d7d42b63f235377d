package doip

import (
	"sync/atomic"
	"time"
)

// idleHandover is how long (one to two ticks of it) a link's socket stays with its caller after
// a call returns before the background reader takes it over, so back-to-back calls read the
// socket themselves (no goroutine hand-off per frame) while alive checks of an idle tester are
// still answered far within the entity's A_DoIP_Ctrl.
const idleHandover = 5 * time.Millisecond

// readToken is the hand-off of a link's socket between its callers and its background reader.
// Whoever holds the token is the one goroutine that reads the socket and owns the link's read
// state (its Reader, read deadline and stalled message), so a frame a caller waits for reaches
// it without a goroutine hand-off, and an idle link still answers alive checks.
//
//	                tryTake, or <-c while waiting
//	+------+  ---------------------------------->  +------------------------+
//	|      |                                       | held by a caller       |
//	|      |  <---------- put: the call ends ----  | (reads while it waits) |
//	| free |                                       +------------------------+
//	|      |  kicked (idle tick, or a stalled read)
//	|      |  and tryTake ---------------------->  +------------------------+
//	|      |                                       | held by the background |
//	|      |  <--- put, once a caller asked -----  | reader (alive checks,  |
//	+------+       (ask + past read deadline)      | queues messages)       |
//	                                               +------------------------+
//
// A caller that finds the token held by the background reader asks for it (ask) and sets a
// read deadline in the past, which ends the background reader's blocked read; the Reader
// resumes from mid-frame, so no byte is lost in the hand-off.
type readToken struct {
	tok  chan struct{} // holds the token while it is free
	kick chan struct{} // wakes the background reader to take the token
	want chan struct{} // a caller waits for the token the background reader holds

	idle      *time.Timer // ticks while idleArmed, see idleTick
	idleArmed atomic.Bool
	calls     atomic.Uint64 // calls ended, so the idle timer can tell activity
	seenCalls atomic.Uint64 // calls at the idle timer's last tick
}

// init makes the token free and starts the idle timer; t must not be copied afterwards.
func (t *readToken) init() {
	t.tok, t.kick, t.want = make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	t.tok <- struct{}{}
	t.idle = time.AfterFunc(time.Hour, t.idleTick)
	t.idleArmed.Store(true)
	t.idle.Reset(idleHandover)
}

// tryTake takes the token if it is free.
func (t *readToken) tryTake() bool {
	select {
	case <-t.tok:
		return true
	default:
		return false
	}
}

// c is received from to take the token once it is free, in a select with other waits.
func (t *readToken) c() <-chan struct{} { return t.tok }

// put frees the token; only its holder may call it.
func (t *readToken) put() { t.tok <- struct{}{} }

// wake asks the background reader to take the token.
func (t *readToken) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// kicked is received from when the background reader should try to take the token.
func (t *readToken) kicked() <-chan struct{} { return t.kick }

// ask tells the background reader that a caller waits for the token it holds.
func (t *readToken) ask() {
	select {
	case t.want <- struct{}{}:
	default:
	}
}

// asked reports (once) whether a caller asked for the token.
func (t *readToken) asked() bool {
	select {
	case <-t.want:
		return true
	default:
		return false
	}
}

// ended records the end of a call and makes sure the idle timer runs.
func (t *readToken) ended() {
	t.calls.Add(1)
	if t.idleArmed.CompareAndSwap(false, true) {
		t.idle.Reset(idleHandover)
	}
}

// idleTick hands the socket to the background reader once no call has ended for a whole tick;
// while calls keep coming it only re-arms itself, so a call costs no timer update (each can
// wake the runtime's network poller).
func (t *readToken) idleTick() {
	n := t.calls.Load()
	if t.seenCalls.Swap(n) != n {
		t.idle.Reset(idleHandover)
		return
	}
	t.idleArmed.Store(false)
	t.wake()
}

// stop ends the idle timer when the link closes.
func (t *readToken) stop() { t.idle.Stop() }
