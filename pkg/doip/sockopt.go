package doip

import (
	"context"
	"net"
	"syscall"
)

// broadcastListenConfig opens UDP sockets with SO_BROADCAST set, which Linux requires before a
// socket may send to a broadcast address (discovery requests, vehicle announcements).
var broadcastListenConfig = net.ListenConfig{Control: setBroadcast}

func setBroadcast(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
	}); err != nil {
		return err
	}
	return serr
}

// listenUDP opens a broadcast-capable UDP socket on addr.
func listenUDP(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return broadcastListenConfig.ListenPacket(ctx, network, addr)
}
