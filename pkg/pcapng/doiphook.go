package pcapng

import (
	"sync"

	"github.com/ecufleet/ecufleet/pkg/doip"
)

// DoIPHook adapts a Writer to doip.FrameHook, so a tester's own session is recorded as it runs.
// It is safe for the concurrent calls a doip.Conn makes from its reading and writing goroutines.
type DoIPHook struct {
	mu      sync.Mutex
	w       *Writer
	comment string
	err     error
}

// NewDoIPHook returns a hook that writes to w.
func NewDoIPHook(w *Writer) *DoIPHook { return &DoIPHook{w: w} }

// SetComment names what later packets belong to (for example "send 3E 00").
func (h *DoIPHook) SetComment(c string) {
	h.mu.Lock()
	h.comment = c
	h.mu.Unlock()
}

// Err is the first error the Writer returned, since a hook cannot return one.
func (h *DoIPHook) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Frame records one DoIP frame.
func (h *DoIPHook) Frame(f doip.Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keep(h.w.Frame(FrameOf(f, h.comment)))
}

// Conn records a TCP connection's open or close; the local side is taken to act.
func (h *DoIPHook) Conn(e doip.ConnEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keep(h.w.Event(EventOf(e, h.comment)))
}

// FrameOf is the Frame of a frame a doip.FrameHook saw, for hooks of their own (a Log's).
func FrameOf(f doip.Frame, comment string) Frame {
	fr := Frame{Time: f.Time, Dir: Sent, Transport: TCP, Local: f.Local, Remote: f.Remote, Data: f.Data, Tail: f.Tail, Comment: comment}
	if f.Dir == doip.FrameReceived {
		fr.Dir = Received
	}
	if f.UDP {
		fr.Transport = UDP
	}
	return fr
}

// EventOf is the Event of a connection event a doip.FrameHook saw; the local side is taken to act.
func EventOf(e doip.ConnEvent, comment string) Event {
	ev := Event{Time: e.Time, Kind: Close, Dir: Sent, Local: e.Local, Remote: e.Remote, Comment: comment}
	if e.Open {
		ev.Kind = Open
	}
	return ev
}

// keep remembers the first error; under mu.
func (h *DoIPHook) keep(err error) {
	if err != nil && h.err == nil {
		h.err = err
	}
}
