package doip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// IdentifyQuery selects which entities answer a vehicle identification request: by VIN, by
// EID, or (both nil) all of them.
type IdentifyQuery struct {
	VIN *[17]byte
	EID *[6]byte
}

// request is the identification request message for the query.
func (q IdentifyQuery) request() Message {
	switch {
	case q.VIN != nil:
		return &VehicleIdentificationRequestVIN{VIN: *q.VIN}
	case q.EID != nil:
		return &VehicleIdentificationRequestEID{EID: *q.EID}
	}
	return &VehicleIdentificationRequest{}
}

// Announcement is one entity's answer to a discovery, with the address it came from.
type Announcement struct {
	VehicleAnnouncement
	From net.Addr
}

// EntityStatus asks an entity over UDP for its node type, socket use and maximum data size.
func (c *Client) EntityStatus(ctx context.Context, addr string) (*EntityStatusResponse, error) {
	m, err := c.udpRequest(ctx, addr, &EntityStatusRequest{}, TypeEntityStatusResponse)
	if err != nil {
		return nil, err
	}
	return m.(*EntityStatusResponse), nil
}

// PowerMode asks an entity over UDP whether the vehicle is ready for diagnostics.
func (c *Client) PowerMode(ctx context.Context, addr string) (*PowerModeResponse, error) {
	m, err := c.udpRequest(ctx, addr, &PowerModeRequest{}, TypePowerModeResponse)
	if err != nil {
		return nil, err
	}
	return m.(*PowerModeResponse), nil
}

// Identify asks one entity over UDP to identify itself. An entity whose VIN or EID does not
// match the query stays silent, so that ends in a timeout.
func (c *Client) Identify(ctx context.Context, addr string, q IdentifyQuery) (*VehicleAnnouncement, error) {
	m, err := c.udpRequest(ctx, addr, q.request(), TypeVehicleAnnouncement)
	if err != nil {
		return nil, err
	}
	return m.(*VehicleAnnouncement), nil
}

// udpRequest sends one request datagram and waits up to ControlTimeout for the answer of type want.
func (c *Client) udpRequest(ctx context.Context, addr string, req Message, want PayloadType) (Message, error) {
	s := c.settings()
	ctx, cancel := context.WithTimeout(ctx, s.ControlTimeout)
	defer cancel()
	addr = withDefaultPort(addr, Port)
	d := net.Dialer{}
	if s.LocalAddr != "" {
		d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(s.LocalAddr)}
	}
	nc, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("doip: %v to %s: %w", req.Type(), addr, err)
	}
	defer nc.Close()
	stop := interruptOnDone(ctx, nc)
	defer stop()
	out := Marshal(s.ProtocolVersion, req)
	if _, err := nc.Write(out); err != nil {
		return nil, fmt.Errorf("doip: send %v to %s: %w", req.Type(), addr, err)
	}
	if s.Hook != nil {
		reportFrame(s.Hook, FrameSent, true, nc.LocalAddr(), nc.RemoteAddr(), out)
	}
	buf := make([]byte, maxDatagram)
	for {
		n, err := nc.Read(buf)
		if err == nil && s.Hook != nil {
			reportFrame(s.Hook, FrameReceived, true, nc.LocalAddr(), nc.RemoteAddr(), buf[:n])
		}
		if err != nil {
			var ne net.Error
			if ctx.Err() != nil {
				err = ctx.Err()
			} else if errors.As(err, &ne) && ne.Timeout() {
				err = context.DeadlineExceeded // the socket deadline is the context's
			}
			return nil, fmt.Errorf("doip: no %v from %s: %w; check the address and that the entity listens on UDP", want, addr, err)
		}
		_, m, err := Unmarshal(buf[:n])
		if err != nil {
			continue // not a valid DoIP answer; keep waiting for one
		}
		switch m := m.(type) {
		case *GenericNACK:
			return nil, &GenericNACKError{Code: m.Code}
		default:
			if m.Type() == want {
				return m, nil
			}
		}
	}
}

// Discover broadcasts a vehicle identification request to broadcastAddr and collects every
// announcement until ctx ends (or ControlTimeout, when ctx has no deadline). Running out of
// time is the normal end and not an error; a cancelled ctx returns what was collected with
// ctx.Err().
func (c *Client) Discover(ctx context.Context, broadcastAddr string, q IdentifyQuery) ([]Announcement, error) {
	s := c.settings()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.ControlTimeout)
		defer cancel()
	}
	to, err := net.ResolveUDPAddr("udp4", withDefaultPort(broadcastAddr, Port))
	if err != nil {
		return nil, fmt.Errorf("doip: discovery address %q: %w", broadcastAddr, err)
	}
	local := s.LocalAddr
	if local == "" && to.IP.IsLoopback() {
		local = "127.0.0.1"
	}
	pc, err := listenPacket(ctx, "udp4", net.JoinHostPort(local, "0"))
	if err != nil {
		return nil, fmt.Errorf("doip: open UDP socket for discovery: %w", err)
	}
	defer pc.Close()
	stop := interruptOnDone(ctx, pc)
	defer stop()
	out := Marshal(s.ProtocolVersion, q.request())
	if _, err := pc.WriteTo(out, to); err != nil {
		return nil, fmt.Errorf("doip: send discovery to %s: %w", to, err)
	}
	if s.Hook != nil {
		reportFrame(s.Hook, FrameSent, true, pc.LocalAddr(), to, out)
	}
	var found []Announcement
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err == nil && s.Hook != nil {
			reportFrame(s.Hook, FrameReceived, true, pc.LocalAddr(), from, buf[:n])
		}
		if err != nil {
			// Read ctx.Err() once: the socket deadline is the context's, so the context may
			// expire between two looks, and a deadline reached is the normal end either way.
			cerr := ctx.Err()
			var ne net.Error
			switch {
			case errors.Is(cerr, context.DeadlineExceeded), cerr == nil && errors.As(err, &ne) && ne.Timeout():
				return found, nil
			case cerr != nil:
				return found, cerr
			}
			return found, fmt.Errorf("doip: read discovery answers: %w", err)
		}
		if _, m, err := Unmarshal(buf[:n]); err == nil {
			if a, ok := m.(*VehicleAnnouncement); ok {
				found = append(found, Announcement{VehicleAnnouncement: *a, From: from})
			}
		}
	}
}

// interruptOnDone unblocks reads on conn when ctx ends; the returned func stops watching.
func interruptOnDone(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) func() bool {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
}
