package doip

import (
	"context"
	"fmt"
	"net"
	"syscall"
)

// ListenPacket opens a UDP socket on addr ("host:port") as DoIP needs one, so code that serves
// DoIP on its own sockets (Server.Serve, the simulator) does not repeat the socket options: it
// may send to a broadcast address (SO_BROADCAST, which Linux requires for vehicle announcements
// and discovery; Go sets it by default on Linux, set here so it does not rest on that) and may
// share its port with other entities' sockets on the same host (SO_REUSEADDR), so several
// simulated entities can all hear one broadcast identification request. ctx bounds only the
// opening.
func ListenPacket(ctx context.Context, addr string) (net.PacketConn, error) {
	return listenPacket(ctx, "udp", addr)
}

// listenPacket is ListenPacket on a chosen network ("udp4" for IPv4 broadcast discovery).
func listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return doipPacketConfig.ListenPacket(ctx, network, addr)
}

// doipPacketConfig sets the socket options of ListenPacket before the socket is bound.
var doipPacketConfig = net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		for _, opt := range [...]struct {
			name string
			opt  int
		}{{"SO_BROADCAST", syscall.SO_BROADCAST}, {"SO_REUSEADDR", syscall.SO_REUSEADDR}} {
			if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt.opt, 1); err != nil {
				serr = fmt.Errorf("set %s: %w", opt.name, err)
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}}
