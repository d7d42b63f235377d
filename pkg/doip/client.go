package doip

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Client is the tester side of DoIP, like http.Client: a configuration whose zero value
// works with ISO defaults. It is safe for concurrent use; each Dial returns its own Conn.
type Client struct {
	TesterAddress   uint16        // default 0x0E00
	ProtocolVersion byte          // default Version2012
	ActivationType  byte          // default 0x00
	ActivationOEM   []byte        // optional 4 bytes of OEM data in the routing activation request
	NoActivation    bool          // skip routing activation on Dial
	TLSConfig       *tls.Config   // non-nil: Dial uses TLS (default port 3496)
	ControlTimeout  time.Duration // A_DoIP_Ctrl, default 2 s (routing activation, alive check, UDP requests)
	AckTimeout      time.Duration // diagnostic ACK wait, default 2 s
	AutoReconnect   bool          // a Conn re-dials and re-activates once when its connection drops
	MaxPayload      uint32        // framer limit, default 4 MiB
	// LocalAddr is the local IP to send from (the interface to discover on). Empty: the system
	// chooses, except that discovery on a loopback broadcast address binds 127.0.0.1.
	LocalAddr string
	// Hook, when set, sees every frame a Conn sends or receives and its connection opening and
	// closing, so a tester can record its own session (for example as pcapng).
	Hook FrameHook
}

// settings is a Client with every default filled in, fixed when a Conn is made.
func (c *Client) settings() Client {
	s := *c
	if s.TesterAddress == 0 {
		s.TesterAddress = DefaultTesterAddress
	}
	if s.ProtocolVersion == 0 {
		s.ProtocolVersion = Version2012
	}
	if s.ControlTimeout <= 0 {
		s.ControlTimeout = DefaultControlTimeout
	}
	if s.AckTimeout <= 0 {
		s.AckTimeout = DefaultAckTimeout
	}
	if s.MaxPayload == 0 {
		s.MaxPayload = DefaultMaxPayload
	}
	return s
}

// Dial connects to an entity over TCP (or TLS when TLSConfig is set) and activates routing
// unless NoActivation is set. addr may omit the port. A denied activation is an *ActivationError.
func (c *Client) Dial(ctx context.Context, addr string) (*Conn, error) {
	s := c.settings()
	conn := &Conn{cfg: s, addr: s.address(addr)}
	l, entity, err := s.connect(ctx, conn.addr)
	if err != nil {
		return nil, err
	}
	conn.l, conn.entity = l, entity
	return conn, nil
}

func (s *Client) address(addr string) string {
	if s.TLSConfig != nil {
		return withDefaultPort(addr, TLSPort)
	}
	return withDefaultPort(addr, Port)
}

// connect dials and activates one link; it returns the entity address from the activation.
func (s *Client) connect(ctx context.Context, addr string) (*link, uint16, error) {
	d := net.Dialer{Timeout: s.ControlTimeout}
	if s.LocalAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(s.LocalAddr)}
	}
	var nc net.Conn
	var err error
	if s.TLSConfig != nil {
		nc, err = (&tls.Dialer{NetDialer: &d, Config: s.TLSConfig}).DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("doip: connect to %s: %w; check the address and that the entity listens on TCP", addr, err)
	}
	l := newLink(nc, s.TesterAddress, s.ProtocolVersion, s.MaxPayload, s.Hook)
	if s.NoActivation {
		return l, 0, nil
	}
	resp, err := s.activate(ctx, l, s.ActivationType, s.ActivationOEM)
	if err != nil {
		l.close()
		return nil, 0, err
	}
	return l, resp.EntityAddress, nil
}

// activate runs one routing activation on l.
func (s *Client) activate(ctx context.Context, l *link, activationType byte, oem []byte) (*RoutingActivationResponse, error) {
	req := &RoutingActivationRequest{SourceAddress: s.TesterAddress, ActivationType: activationType, OEM: oem}
	ev, err := s.control(ctx, l, req, TypeRoutingActivationResponse)
	if err != nil {
		return nil, fmt.Errorf("doip: routing activation: %w", err)
	}
	resp := ev.msg.(*RoutingActivationResponse)
	if resp.Code != ActivationSuccess {
		return resp, &ActivationError{Response: resp}
	}
	return resp, nil
}

// control sends a control request on l and waits up to ControlTimeout for the answer of type want.
func (s *Client) control(ctx context.Context, l *link, req Message, want PayloadType) (event, error) {
	ctx, cancel := context.WithTimeout(ctx, s.ControlTimeout)
	defer cancel()
	l.drain()
	deadline, _ := ctx.Deadline()
	if err := l.write(req, deadline); err != nil {
		return event{}, err
	}
	for {
		ev, err := l.awaitAnswer(ctx, time.Time{})
		switch {
		case err == ctx.Err() && err != nil:
			return event{}, fmt.Errorf("doip: no %v from %s: %w", want, l.nc.RemoteAddr(), err)
		case err != nil:
			return event{}, err
		case ev.typ == want:
			return ev, nil
		case ev.typ == TypeGenericNACK:
			return event{}, &GenericNACKError{Code: NACKCode(ev.code)}
		}
	}
}
