package doip

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"
)

// FrameDirection says which side wrote a frame, seen from the side that reports it.
type FrameDirection uint8

const (
	// FrameSent is a frame the local side wrote.
	FrameSent FrameDirection = iota
	// FrameReceived is a frame the local side read.
	FrameReceived
)

// Frame is one whole DoIP message (header and payload) as it crossed a socket, for recording.
type Frame struct {
	Time          time.Time
	Dir           FrameDirection
	UDP           bool // false: the frame travelled on a TCP connection
	Local, Remote netip.AddrPort
	// Data aliases the sender's or reader's buffer: valid only during the call.
	Data []byte
	// Tail, when set, is the rest of the frame after Data: a large diagnostic payload's end that
	// was sent from the caller's buffer (a flash block's data), so reporting it copies nothing.
	// It aliases that buffer, as Data does.
	Tail []byte
}

// ConnEvent is a TCP connection opening (Open true) or closing, so a trace shows its life.
type ConnEvent struct {
	Time          time.Time
	Open          bool
	Local, Remote netip.AddrPort
}

// FrameHook sees the frames and connection events of a Conn (Client.Hook), of a Client's UDP
// requests, or of every socket of a Server (Server.Hook), in the order they happen. It runs
// on the reading or writing goroutine, so it must be quick and must not call the Conn or
// Server; a Server's hook is called from several goroutines at once.
type FrameHook interface {
	Frame(Frame)
	Conn(ConnEvent)
}

// addrPort is a net.Addr's address and port, or the zero value for a non-IP address.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap
	}
	return netip.AddrPort{}
}

// report gives one whole TCP frame, data then tail, to the link's hook.
func (l *link) report(dir FrameDirection, data, tail []byte) {
	f := frameOf(dir, false, l.nc.LocalAddr(), l.nc.RemoteAddr(), data)
	f.Tail = tail
	l.hook.Frame(f)
}

// event tells the link's hook that its connection opened or closed.
func (l *link) event(open bool) {
	reportConn(l.hook, open, l.nc.LocalAddr(), l.nc.RemoteAddr())
}

// reportFrame gives one whole frame that crossed the socket local-remote to h.
func reportFrame(h FrameHook, dir FrameDirection, udp bool, local, remote net.Addr, data []byte) {
	h.Frame(frameOf(dir, udp, local, remote, data))
}

// frameOf is the Frame of data crossing the socket local-remote now.
func frameOf(dir FrameDirection, udp bool, local, remote net.Addr, data []byte) Frame {
	return Frame{Time: time.Now(), Dir: dir, UDP: udp, Local: addrPort(local), Remote: addrPort(remote), Data: data}
}

// reportFrames gives each whole frame of buf (frames back to back, as one write sends them) to h.
func reportFrames(h FrameHook, dir FrameDirection, local, remote net.Addr, buf []byte) {
	for len(buf) >= HeaderLen {
		n := HeaderLen + int(binary.BigEndian.Uint32(buf[4:8]))
		if n > len(buf) {
			n = len(buf) // never happens for frames this package built; report the rest whole
		}
		reportFrame(h, dir, false, local, remote, buf[:n:n])
		buf = buf[n:]
	}
}

// reportConn tells h that the TCP connection local-remote opened or closed.
func reportConn(h FrameHook, open bool, local, remote net.Addr) {
	h.Conn(ConnEvent{Time: time.Now(), Open: open, Local: addrPort(local), Remote: addrPort(remote)})
}
