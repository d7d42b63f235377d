package doip

import (
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
}

// ConnEvent is a TCP connection opening (Open true) or closing, so a trace shows its life.
type ConnEvent struct {
	Time          time.Time
	Open          bool
	Local, Remote netip.AddrPort
}

// FrameHook sees the frames and connection events of a Conn, in the order they happen. It
// runs on the reading or writing goroutine, so it must be quick and must not call the Conn.
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

// report gives one whole frame to the link's hook.
func (l *link) report(dir FrameDirection, data []byte) {
	l.hook.Frame(Frame{Time: time.Now(), Dir: dir, Local: addrPort(l.nc.LocalAddr()),
		Remote: addrPort(l.nc.RemoteAddr()), Data: data})
}

// event tells the link's hook that its connection opened or closed.
func (l *link) event(open bool) {
	l.hook.Conn(ConnEvent{Time: time.Now(), Open: open, Local: addrPort(l.nc.LocalAddr()),
		Remote: addrPort(l.nc.RemoteAddr())})
}
