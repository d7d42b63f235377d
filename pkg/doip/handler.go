package doip

import (
	"context"
	"net"
)

// Handler answers diagnostic messages on the entity side, like http.Handler, so a simulated ECU
// or a gateway only writes UDS logic while the Server runs the DoIP protocol around it. The
// Server calls it for one request of a socket at a time, in arrival order, on a goroutine of
// that socket's own, while it keeps reading and acknowledging the socket's further messages.
type Handler interface {
	ServeDoIP(ctx context.Context, w ResponseWriter, r *Request)
}

// HandlerFunc lets an ordinary function serve as a Handler.
type HandlerFunc func(ctx context.Context, w ResponseWriter, r *Request)

// ServeDoIP calls f.
func (f HandlerFunc) ServeDoIP(ctx context.Context, w ResponseWriter, r *Request) { f(ctx, w, r) }

// Request is one diagnostic message handed to a Handler after the Server has acknowledged it.
// Data is a buffer the Server reuses once ServeDoIP returns: copy it to keep it.
type Request struct {
	Source, Target uint16   // tester address and the logical address it was sent to
	Data           []byte   // UDS bytes
	RemoteAddr     net.Addr // the tester's TCP address
}

// ResponseWriter sends diagnostic messages back to the tester that sent the Request.
type ResponseWriter interface {
	// Write sends one diagnostic message from r.Target to r.Source on the same socket; call it
	// several times for response-pending (7F xx 78) followed by the final response.
	Write(data []byte) error
}
