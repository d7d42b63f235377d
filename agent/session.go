package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/ecufleet/ecufleet/internal/ctxtime"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// session is one job's DoIP connection to its ECU with the UDS client on top of it. Only the
// job's runner goroutine calls its methods; the tester present keeper is the one other
// goroutine using the connection, and it is paused around every exchange that does not go
// through the UDS client, because a doip.Conn serves one exchange at a time.
type session struct {
	target        uint16 // the ECU's logical address
	autoReconnect bool
	pendingLimit  time.Duration // caps a response pending (0x78) chain; the job deadline
	ep            endpoint
	conn          *doip.Conn
	uds           *uds.Client
	log           logr.Logger
	// resetSent: the ECU accepted a reset (0x11) on this connection, so it closes the socket
	// on purpose; a request that then finds the connection gone fails its step (the job's
	// steps lack a reconnect) instead of ending the attempt ConnectionLost.
	resetSent bool

	keeperCtx  context.Context // the attempt's context: the keeper ends with the attempt
	stopKeeper context.CancelFunc
	keeperDone chan struct{}
}

// unreachableError marks a failure to dial or activate routing: an infrastructure fault that
// ends the attempt with reason EcuUnreachable, so the controller may retry it.
type unreachableError struct {
	addr string
	err  error
}

// Error names the address and the cause.
func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the ECU at %s: %v", e.addr, e.err)
}

// Unwrap exposes the DoIP error.
func (e *unreachableError) Unwrap() error { return e.err }

// openSession dials the ECU and activates routing (unless the ECU disables it). A denial
// because the tester address is busy on another socket (0x03) or every socket is taken (0x01)
// is retried a few times: the serving agent's AliveCheck probe may hold a socket for a few
// milliseconds just as the job starts.
func openSession(ctx context.Context, ep endpoint, pendingLimit time.Duration, log logr.Logger) (*session, error) {
	var conn *doip.Conn
	var err error
	for attempt := 1; ; attempt++ {
		conn, err = ep.client.Dial(ctx, ep.tcpAddr)
		var denied *doip.ActivationError
		busy := errors.As(err, &denied) &&
			(denied.Response.Code == doip.ActivationSourceInUse || denied.Response.Code == doip.ActivationNoFreeSocket)
		if !busy || attempt == busyActivationTries || ctxtime.Sleep(ctx, busyActivationPause) != nil {
			break
		}
		log.V(1).Info("Routing activation denied while the tester address is busy; retrying", "address", ep.tcpAddr, "code", denied.Response.Code.String())
	}
	if err != nil {
		return nil, &unreachableError{addr: ep.tcpAddr, err: err}
	}
	s := &session{target: ep.target, autoReconnect: ep.autoReconnect, pendingLimit: pendingLimit, ep: ep,
		conn: conn, log: log, keeperCtx: ctx}
	s.uds = s.newUDS(s.target)
	return s, nil
}

// Retry of a routing activation denied because the tester address or the sockets are busy.
const (
	busyActivationTries = 4
	busyActivationPause = 250 * time.Millisecond
)

// newUDS starts a UDS client for target with fresh session state, as after every new connection.
func (s *session) newUDS(target uint16) *uds.Client {
	c := uds.NewClient(s.conn, target)
	c.PendingLimit = s.pendingLimit
	return c
}

// request sends one UDS request to target and returns the final response (a negative one
// comes back as a *uds.NegativeResponseError with the bytes). Requests to the ECU itself go
// through the job's UDS client, which tracks the session for the keeper; requests to another
// address pause the keeper and use a client of their own. A connection that drops after the
// entity acknowledged the request is a *connectionLostError: the ECU may have acted on it. So
// is one that dropped before the ACK (and was not sent again): the ECU never took it, and the
// drop is no verdict of the ECU's; only after a reset this attempt asked for does it fail the
// step.
func (s *session) request(ctx context.Context, target uint16, req []byte) (resp []byte, reconnected bool, err error) {
	if target == s.target {
		reconnected, err = s.retryOnDrop(ctx, notAcknowledged, func() error {
			resp, err = s.uds.Request(ctx, req)
			return err
		})
		s.syncKeeper()
	} else {
		err = s.exclusive(func() error {
			reconnected, err = s.retryOnDrop(ctx, notAcknowledged, func() error {
				resp, err = s.newUDS(target).Request(ctx, req)
				return err
			})
			return err
		})
	}
	switch {
	case err == nil && len(req) > 0 && req[0] == byte(uds.SIDECUReset):
		s.resetSent = true
	case !connectionDropped(err) || ctx.Err() != nil:
	case !notAcknowledged(err):
		err = &connectionLostError{addr: s.ep.tcpAddr, target: target, request: req, err: err}
	case !s.resetSent:
		err = &connectionLostError{addr: s.ep.tcpAddr, target: target, request: req, err: err, unacknowledged: true}
	}
	return resp, reconnected, err
}

// control runs a DoIP exchange on the connection (alive check, routing activation) with the
// keeper paused. These never reach the ECU's application, so any drop may be retried.
func (s *session) control(ctx context.Context, op func(*doip.Conn) error) (reconnected bool, err error) {
	err = s.exclusive(func() error {
		reconnected, err = s.retryOnDrop(ctx, connectionDropped, func() error { return op(s.conn) })
		return err
	})
	return reconnected, err
}

// retryOnDrop runs op; when it failed in a way resendable accepts and the ECU asks for
// automatic reconnection, it re-dials (retrying activation while the ECU boots) and runs op
// once more. For a UDS request resendable is notAcknowledged: only a request the entity never
// acknowledged is sent again (after a reset the ECU closed the socket before it), so a request
// the ECU may have acted on never reaches it twice.
func (s *session) retryOnDrop(ctx context.Context, resendable func(error) bool, op func() error) (reconnected bool, err error) {
	err = op()
	if err == nil || !s.autoReconnect || !resendable(err) || ctx.Err() != nil {
		return false, err
	}
	s.log.V(1).Info("Connection dropped before the ECU acknowledged the request, reconnecting", "address", s.ep.tcpAddr, "error", err.Error())
	if rerr := s.reconnect(ctx, 0); rerr != nil {
		return false, rerr
	}
	return true, op()
}

// notAcknowledged tells a request the entity never acknowledged before the connection dropped.
func notAcknowledged(err error) bool { return errors.Is(err, doip.ErrNotAcknowledged) }

// connectionLostError marks a connection that dropped after the entity acknowledged a UDS
// request: the ECU may have acted on it, so the agent does not send it again; the attempt ends
// with reason ConnectionLost, which the controller retries from the first step. A drop before
// the ACK that was not sent again (no autoReconnect) ends the attempt the same way.
type connectionLostError struct {
	addr    string
	target  uint16
	request []byte
	err     error
	// unacknowledged: the connection dropped before the entity acknowledged the request, which
	// is taken as not delivered.
	unacknowledged bool
	// download: the connection dropped in the middle of a download, acknowledged or not; the
	// ECU's memory is half written, so the transfer is never resumed.
	download bool
}

// Error names what was sent, to whom, and why it is not sent again.
func (e *connectionLostError) Error() string {
	if e.download {
		return fmt.Sprintf("connection to %s lost during a download to ECU 0x%04X; the transfer is not resumed, the attempt is retried from its first step: %v",
			e.addr, e.target, e.err)
	}
	if e.unacknowledged {
		return fmt.Sprintf("connection to %s lost before ECU 0x%04X acknowledged %s, so it was not delivered; the attempt is retried from its first step: %v",
			e.addr, e.target, cutHex(e.request, maxMessageBytes), e.err)
	}
	return fmt.Sprintf("connection to %s lost after ECU 0x%04X acknowledged %s; not sent again, since the ECU may have acted on it: %v",
		e.addr, e.target, cutHex(e.request, maxMessageBytes), e.err)
}

// Unwrap exposes the DoIP error.
func (e *connectionLostError) Unwrap() error { return e.err }

// reconnect closes the connection, waits closeDelay, dials again and activates routing,
// retrying until ctx ends; the UDS session state starts over.
func (s *session) reconnect(ctx context.Context, closeDelay time.Duration) error {
	s.pauseKeeper()
	if err := s.conn.Reconnect(ctx, closeDelay); err != nil {
		return &unreachableError{addr: s.ep.tcpAddr, err: err}
	}
	s.uds = s.newUDS(s.target)
	s.resetSent = false
	return nil
}

// exclusive runs fn with the tester present keeper paused, then resumes it if the session
// still needs it.
func (s *session) exclusive(fn func() error) error {
	s.pauseKeeper()
	defer s.syncKeeper()
	return fn()
}

// syncKeeper starts the tester present keeper when the ECU is in a non-default session and no
// keeper runs; the keeper ends by itself when the session returns to default.
func (s *session) syncKeeper() {
	if s.keeperDone != nil {
		select {
		case <-s.keeperDone:
			s.keeperDone, s.stopKeeper = nil, nil
		default:
			return // still running
		}
	}
	if s.uds.Session() == uds.SessionDefault || s.keeperCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.keeperCtx)
	done := make(chan struct{})
	c := s.uds
	s.stopKeeper, s.keeperDone = cancel, done
	go func() {
		defer close(done)
		if err := c.KeepSessionAlive(ctx, 0); err != nil {
			s.log.Info("Tester present failed; the ECU may fall back to the default session", "address", s.ep.tcpAddr, "error", err.Error())
		}
	}()
}

// pauseKeeper stops the keeper and waits until it no longer uses the connection.
func (s *session) pauseKeeper() {
	if s.keeperDone == nil {
		return
	}
	s.stopKeeper()
	<-s.keeperDone
	s.keeperDone, s.stopKeeper = nil, nil
}

// close stops the keeper and closes the connection.
func (s *session) close() {
	s.pauseKeeper()
	s.conn.Close()
}

// connectionDropped tells a connection the ECU closed or reset (after an ECU reset, or a
// crash) from any other failure; a connection this agent closed itself (doip.ErrClosed) does
// not count.
func connectionDropped(err error) bool {
	if errors.Is(err, doip.ErrClosed) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}
