package uds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ecufleet/ecufleet/internal/ctxtime"
)

// Transport moves UDS bytes to and from one ECU; *doip.Conn satisfies it, and so can any
// other link (or a scripted one in tests). Its methods carry only addresses and bytes, so the
// response logic depends on no transport's types.
type Transport interface {
	// Send delivers one request to the ECU at target; it returns once the link accepted it.
	Send(ctx context.Context, target uint16, data []byte) error
	// ReceiveFrom returns the next message addressed to the tester: its sender's logical
	// address and its UDS bytes, which the Transport must not reuse.
	ReceiveFrom(ctx context.Context) (source uint16, data []byte, err error)
}

// PartsTransport is a Transport that sends a request given in two parts as one message, so a
// download's blocks go out from the image without being copied behind their SID and counter
// (doip.Conn).
type PartsTransport interface {
	Transport
	// SendParts is Send of head followed by data.
	SendParts(ctx context.Context, target uint16, head, data []byte) error
}

// DeadlineTransport is a Transport whose receive takes the client's timer as a deadline, so a
// busy client does not derive a context, with its timer, for every response (doip.Conn).
type DeadlineTransport interface {
	Transport
	// ReceiveFromBefore is ReceiveFrom ending at deadline as well, with an error that matches
	// os.ErrDeadlineExceeded once it has passed.
	ReceiveFromBefore(ctx context.Context, deadline time.Time) (source uint16, data []byte, err error)
}

// Default client timing. On DoIP the tester's P2 must cover the network and the gateway as
// well as the ECU's own P2 server time, so it is far above the ECU's 50 ms.
const (
	// DefaultP2 is how long the client waits for a first response.
	DefaultP2 = time.Second
	// DefaultP2Star is how long the client waits after each response pending (0x78).
	DefaultP2Star = 5 * time.Second
	// DefaultNetworkMargin is added to the P2 and P2* an ECU reports in a session control
	// response (ISO 14229-2's delta P2 for network latency).
	DefaultNetworkMargin = time.Second
	// DefaultPendingLimit caps a whole chain of response pending answers, so an ECU stuck on
	// 0x78 cannot hold a job forever.
	DefaultPendingLimit = time.Minute
	// DefaultBusyRetries is how often a request refused with busyRepeatRequest (0x21) is resent.
	DefaultBusyRetries = 3
	// DefaultBusyDelay is the pause before resending after busyRepeatRequest.
	DefaultBusyDelay = 200 * time.Millisecond
	// DefaultTesterPresentInterval keeps a session alive well within the ECU's 5 s S3 timer.
	DefaultTesterPresentInterval = 2 * time.Second
)

// Client sends UDS requests to one ECU and waits for the final answer, handling response
// pending and busy-repeat as ISO 14229-2 asks of a tester. Like net/http.Client, zero fields
// take the defaults above; set them before the first request. A Client serialises its
// requests (UDS allows one outstanding request per ECU), so it is safe for concurrent use.
type Client struct {
	// Transport carries the bytes, normally a *doip.Conn.
	Transport Transport
	// Target is the ECU's logical address.
	Target uint16
	// P2 is the initial wait for a first response (default DefaultP2).
	P2 time.Duration
	// P2Star is the initial wait after a response pending (default DefaultP2Star).
	P2Star time.Duration
	// NetworkMargin is added to the ECU's reported P2/P2* (default DefaultNetworkMargin).
	NetworkMargin time.Duration
	// PendingLimit caps the total wait of one request across response pending answers
	// (default DefaultPendingLimit).
	PendingLimit time.Duration
	// BusyRetries is how often busyRepeatRequest is retried (0: default; negative: never).
	BusyRetries int
	// BusyDelay is the pause before each retry (default DefaultBusyDelay).
	BusyDelay time.Duration

	once    sync.Once
	turn    chan struct{} // holds one token: whoever takes it may talk to the ECU
	mu      sync.Mutex    // guards the fields below
	session Session
	timing  SessionTiming // the ECU's last reported timing; zero until a session response
	changed chan struct{} // closed and replaced whenever session changes
}

// NewClient returns a Client for the ECU at target over t, with default timing.
func NewClient(t Transport, target uint16) *Client {
	return &Client{Transport: t, Target: target}
}

func (c *Client) init() {
	c.once.Do(func() {
		c.turn = make(chan struct{}, 1)
		c.turn <- struct{}{}
		c.session = SessionDefault
		c.changed = make(chan struct{})
	})
}

// Session is the session the ECU last confirmed (default until a session control succeeds,
// and again after an ECU reset).
func (c *Client) Session() Session {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Timeouts returns the P2 and P2* the client currently waits: the configured values, or the
// ECU's reported ones plus NetworkMargin after a session control response.
func (c *Client) Timeouts() (p2, p2Star time.Duration) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timing.HasTiming {
		m := durationOr(c.NetworkMargin, DefaultNetworkMargin)
		return c.timing.P2 + m, c.timing.P2Star + m
	}
	return durationOr(c.P2, DefaultP2), durationOr(c.P2Star, DefaultP2Star)
}

// Request sends req and returns the final response: the positive response, or the negative
// one as a *NegativeResponseError carrying the raw bytes in both return values. Response
// pending (0x78) switches the wait from P2 to P2* and restarts it on each further 0x78, up to
// PendingLimit; busyRepeatRequest (0x21) resends after BusyDelay up to BusyRetries times;
// messages from other ECUs, answers to other services and positive answers that do not echo
// this request's sub-function, DID or routine id (late answers to an earlier request) are
// discarded. A request with the suppress-positive-response
// bit returns (nil, nil) once sent. A missing answer is a *TimeoutError. Nothing is sent once
// ctx has ended, even when the turn was free at the same moment.
func (c *Client) Request(ctx context.Context, req []byte) ([]byte, error) {
	return c.request(ctx, req, nil)
}

// request is Request of req followed by data: a 36's SID and counter, then its block.
func (c *Client) request(ctx context.Context, req, data []byte) ([]byte, error) {
	if len(req) == 0 {
		return nil, &ArgumentError{Name: "request", Reason: "empty; a UDS request has at least a service identifier"}
	}
	c.init()
	select {
	case <-c.turn:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the previous UDS request to 0x%04X to finish: %w", c.Target, ctx.Err())
	}
	defer func() { c.turn <- struct{}{} }()

	retries := c.BusyRetries
	if retries == 0 {
		retries = DefaultBusyRetries
	}
	sid := SID(req[0])
	for attempt := 0; ; attempt++ {
		// select above picks at random when the turn is free and ctx has ended: check again,
		// so that a cancelled caller (a job stopped because its agent lost its Lease) never
		// reaches the ECU.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("UDS request %s to ECU 0x%04X not sent: %w", sid, c.Target, err)
		}
		if err := c.send(ctx, req, data); err != nil {
			return nil, fmt.Errorf("send UDS request %s to ECU 0x%04X: %w", sid, c.Target, err)
		}
		if SuppressesPositiveResponse(req) {
			return nil, nil
		}
		resp, err := c.await(ctx, req)
		if err != nil {
			return nil, err
		}
		nre, isNegative := negative(resp)
		if isNegative && nre.NRC == NRCBusyRepeatRequest && attempt < retries {
			if err := ctxtime.Sleep(ctx, durationOr(c.BusyDelay, DefaultBusyDelay)); err != nil {
				return nil, fmt.Errorf("wait to repeat UDS request %s after busyRepeatRequest: %w", sid, err)
			}
			continue
		}
		if isNegative {
			return resp, nre
		}
		c.observe(req, resp)
		return resp, nil
	}
}

// await reads messages until the final response to req, following the response pending rules.
func (c *Client) await(ctx context.Context, req []byte) ([]byte, error) {
	sid := SID(req[0])
	p2, p2Star := c.Timeouts()
	limit := durationOr(c.PendingLimit, DefaultPendingLimit)
	start := time.Now()
	overall := start.Add(limit)
	timer, wait, deadline := TimerP2, p2, start.Add(p2)
	pending := 0
	for {
		d, name, w := deadline, timer, wait
		if overall.Before(d) {
			d, name, w = overall, TimerPendingLimit, limit
		}
		source, data, timedOut, err := c.receive(ctx, d)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("wait for the response to UDS request %s: %w", sid, ctx.Err())
		case err != nil && timedOut:
			return nil, &TimeoutError{SID: sid, Timer: name, Wait: w, Pending: pending}
		case err != nil:
			return nil, fmt.Errorf("receive the response to UDS request %s from ECU 0x%04X: %w", sid, c.Target, err)
		}
		if source != c.Target || !answers(req, data) {
			continue // a late answer to an earlier request, or another ECU's: not ours
		}
		resp := data // the Transport does not reuse it
		if nre, ok := negative(resp); ok && nre.NRC == NRCResponsePending {
			pending++
			timer, wait, deadline = TimerP2Star, p2Star, time.Now().Add(p2Star)
			continue
		}
		return resp, nil
	}
}

// send hands req followed by data to the Transport, in two parts if it takes them so.
func (c *Client) send(ctx context.Context, req, data []byte) error {
	switch t, parts := c.Transport.(PartsTransport); {
	case len(data) == 0:
		return c.Transport.Send(ctx, c.Target, req)
	case parts:
		return t.SendParts(ctx, c.Target, req, data)
	}
	return c.Transport.Send(ctx, c.Target, append(slices.Clip(req), data...))
}

// receive returns the next message for the tester unless deadline passes first (timedOut).
func (c *Client) receive(ctx context.Context, deadline time.Time) (source uint16, data []byte, timedOut bool, err error) {
	if t, ok := c.Transport.(DeadlineTransport); ok {
		source, data, err = t.ReceiveFromBefore(ctx, deadline)
		return source, data, err != nil && ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded), err
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	source, data, err = c.Transport.ReceiveFrom(rctx)
	return source, data, rctx.Err() != nil, err
}

// observe tracks the session and timing from positive responses that change them.
func (c *Client) observe(req, resp []byte) {
	switch SID(req[0]) {
	case SIDDiagnosticSessionControl:
		if len(req) < 2 {
			return
		}
		t, err := ParseSessionControl(resp, Session(req[1]&^SuppressPositiveResponse))
		if err != nil {
			return
		}
		c.setSession(t.Session, t)
	case SIDECUReset:
		c.setSession(SessionDefault, SessionTiming{})
	}
}

func (c *Client) setSession(s Session, t SessionTiming) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timing = t
	if s != c.session {
		c.session = s
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// sessionState returns the session and a channel closed on its next change.
func (c *Client) sessionState() (Session, <-chan struct{}) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session, c.changed
}

// KeepSessionAlive sends tester present with suppressed response (3E 80) every interval
// (default DefaultTesterPresentInterval) while a non-default session is open, so the ECU's S3
// timer does not drop it back to default during a long job. Each send goes through Request,
// so it never interleaves with another request. It returns nil when the session returns to
// default or ctx ends, and the error of a failed send otherwise. Run it in a goroutine after
// opening a session.
func (c *Client) KeepSessionAlive(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(durationOr(interval, DefaultTesterPresentInterval))
	defer t.Stop()
	for {
		session, changed := c.sessionState()
		if session == SessionDefault {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
			if _, err := c.Request(ctx, TesterPresent(true)); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("keep the %s session of ECU 0x%04X alive: %w", session, c.Target, err)
			}
		}
	}
}

// durationOr returns d, or def when d is not positive.
func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
