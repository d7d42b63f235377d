package doip

import (
	"math/rand/v2"
	"net"
	"time"
)

// maxDatagram bounds the UDP read buffer: every UDP payload type is at most 33 bytes, so a
// larger datagram is cut and then refused by its length check.
const maxDatagram = 1024

// serveUDP answers vehicle identification, entity status and power mode requests.
func (s *Server) serveUDP(pc net.PacketConn) {
	defer s.wg.Done()
	buf := make([]byte, maxDatagram)
	var out []byte
	for {
		n, from, err := pc.ReadFrom(buf)
		if err == nil && s.Hook != nil {
			reportFrame(s.Hook, FrameReceived, true, pc.LocalAddr(), from, buf[:n])
		}
		if err != nil {
			if s.inShutdown.Load() {
				return
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			s.Logger.Error(err, "UDP socket failed; vehicle identification is no longer answered", "addr", pc.LocalAddr())
			return
		}
		if reply := s.answerDatagram(buf[:n]); reply != nil {
			out = AppendFrame(out[:0], s.version(), reply)
			if _, err := pc.WriteTo(out, from); err != nil {
				s.Logger.V(1).Info("Cannot answer UDP request", "to", from, "error", err)
			} else if s.Hook != nil {
				reportFrame(s.Hook, FrameSent, true, pc.LocalAddr(), from, out)
			}
		}
	}
}

// answerDatagram returns the answer to one datagram, or nil when none is due.
func (s *Server) answerDatagram(d []byte) Message {
	_, m, err := Unmarshal(d)
	if err != nil {
		if de, ok := err.(*Error); ok {
			return &GenericNACK{Code: de.NACK}
		}
		return nil
	}
	switch req := m.(type) {
	case *VehicleIdentificationRequest:
		return s.announcement()
	case *VehicleIdentificationRequestEID:
		if req.EID == s.EID {
			return s.announcement()
		}
	case *VehicleIdentificationRequestVIN:
		if req.VIN == s.VIN {
			return s.announcement()
		}
	case *EntityStatusRequest:
		return &EntityStatusResponse{NodeType: s.NodeType, MaxSockets: clampByte(s.maxSockets()),
			OpenSockets: clampByte(s.OpenSockets()), MaxDataSize: s.maxDataSize(), HasMaxDataSize: true}
	case *PowerModeRequest:
		mode := PowerModeReady
		if s.PowerMode != nil {
			mode = s.PowerMode()
		}
		return &PowerModeResponse{Mode: mode}
	case *GenericNACK, *VehicleAnnouncement, *EntityStatusResponse, *PowerModeResponse:
		// Answers from other entities on a shared broadcast domain: never answer an answer.
	default:
		return &GenericNACK{Code: NACKUnknownPayloadType} // a TCP-only type on UDP
	}
	return nil
}

func (s *Server) announcement() *VehicleAnnouncement {
	return &VehicleAnnouncement{VIN: s.VIN, LogicalAddress: s.LogicalAddress, EID: s.EID, GID: s.GID,
		FurtherAction: s.FurtherAction}
}

// announce sends AnnounceCount vehicle announcements, the first after a random wait of up to
// A_DoIP_Announce_Wait (500 ms) as ISO 13400-2 asks, so entities powered together do not collide.
func (s *Server) announce(pc net.PacketConn) {
	defer s.wg.Done()
	to := s.AnnounceTo
	if to == "" {
		to = "255.255.255.255:13400"
	}
	addr, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		s.Logger.Error(err, "Cannot send vehicle announcements; fix Server.AnnounceTo", "announceTo", to)
		return
	}
	interval := s.timeout(s.AnnounceInterval, DefaultAnnounceInterval)
	frame := Marshal(s.version(), s.announcement())
	wait := time.Duration(rand.Int64N(int64(min(interval, DefaultAnnounceInterval))))
	t := time.NewTimer(wait)
	defer t.Stop()
	for i := 0; i < s.AnnounceCount; i++ {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := pc.WriteTo(frame, addr); err != nil {
			s.Logger.Error(err, "Cannot send vehicle announcement", "to", addr)
		} else if s.Hook != nil {
			reportFrame(s.Hook, FrameSent, true, pc.LocalAddr(), addr, frame)
		}
		t.Reset(interval)
	}
}

func clampByte(n int) byte {
	return byte(min(max(n, 0), 255))
}
