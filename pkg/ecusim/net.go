package ecusim

import (
	"net"
	"sync/atomic"
)

// pausableListener closes every socket accepted while the simulator is paused, so a paused
// ECU takes no new tester connections.
type pausableListener struct {
	net.Listener
	paused *atomic.Bool
}

// Accept implements net.Listener.
func (l *pausableListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.paused.Load() {
			return c, err
		}
		c.Close()
	}
}

// countingPacketConn counts datagrams and drops them unread while the simulator is paused, so
// a paused ECU stays silent on UDP too.
type countingPacketConn struct {
	net.PacketConn
	paused *atomic.Bool
	count  *atomic.Uint64
}

// ReadFrom implements net.PacketConn.
func (p *countingPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := p.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		p.count.Add(1)
		if !p.paused.Load() {
			return n, addr, nil
		}
	}
}
