package doip

import (
	"sync"
	"time"
)

// activate decides a routing activation request on socket c (ISO 13400-2 routing activation
// handler); decisions are serialised because they may alive-check and close other sockets.
func (s *Server) activate(c *serverConn, req *RoutingActivationRequest) *RoutingActivationResponse {
	s.activateMu.Lock()
	defer s.activateMu.Unlock()
	code := s.decideActivation(c, req)
	if code == ActivationSuccess {
		s.mu.Lock()
		c.activated, c.source = true, req.SourceAddress
		s.mu.Unlock()
	}
	s.Logger.V(1).Info("Routing activation", "remote", c.nc.RemoteAddr(), "source", req.SourceAddress,
		"type", req.ActivationType, "code", code)
	return &RoutingActivationResponse{TesterAddress: req.SourceAddress, EntityAddress: s.LogicalAddress, Code: code}
}

func (s *Server) decideActivation(c *serverConn, req *RoutingActivationRequest) ActivationCode {
	switch {
	case c.activated && req.SourceAddress == c.source:
		return ActivationSuccess // repeated activation of the same tester: confirm it
	case c.activated:
		return ActivationDifferentSource
	case !s.testerAllowed(req.SourceAddress):
		return ActivationUnknownSource
	case !s.activationTypeAllowed(req.ActivationType):
		return ActivationUnsupportedType
	}
	timeout := s.timeout(s.AliveCheckTimeout, DefaultAliveCheckTimeout)
	if other := s.activeSocket(req.SourceAddress, c); other != nil {
		if other.probe(timeout) {
			return ActivationSourceInUse
		}
		s.Logger.Info("Closing silent socket to re-activate its tester", "source", req.SourceAddress, "remote", other.nc.RemoteAddr())
		other.close()
	}
	if active := s.activeSockets(c); len(active) >= s.maxSockets() {
		silent := probeAll(active, timeout)
		if len(silent) == 0 {
			return ActivationNoFreeSocket
		}
		for _, d := range silent {
			s.Logger.Info("Closing silent socket to free a slot", "source", d.source, "remote", d.nc.RemoteAddr())
			d.close()
		}
	}
	if s.Activate != nil {
		return s.Activate(c.ctx, req)
	}
	return ActivationSuccess
}

// registered reports whether d holds a tester registration other than except's: activated and
// not closed (a socket closed by arbitration frees its slot at once, before its goroutine ends).
func (d *serverConn) registered(except *serverConn) bool {
	return d != except && d.activated && d.ctx.Err() == nil
}

// activeSocket is the other activated socket registered for source, if any.
func (s *Server) activeSocket(source uint16, except *serverConn) *serverConn {
	for _, d := range s.activeSockets(except) {
		if d.source == source {
			return d
		}
	}
	return nil
}

// activeSockets lists the other activated sockets.
func (s *Server) activeSockets(except *serverConn) []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*serverConn
	for d := range s.conns {
		if d.registered(except) {
			out = append(out, d)
		}
	}
	return out
}

// probeAll alive-checks every socket at once and returns the silent ones.
func probeAll(conns []*serverConn, timeout time.Duration) []*serverConn {
	alive := make([]bool, len(conns))
	var wg sync.WaitGroup
	for i, d := range conns {
		wg.Go(func() { alive[i] = d.probe(timeout) })
	}
	wg.Wait()
	var silent []*serverConn
	for i, d := range conns {
		if !alive[i] {
			silent = append(silent, d)
		}
	}
	return silent
}
