package doip

import (
	"net"
	"syscall"
	"testing"
)

// sockopts reads SO_BROADCAST and SO_REUSEADDR of a UDP socket.
func sockopts(t *testing.T, pc net.PacketConn) (broadcast, reuseAddr int) {
	t.Helper()
	raw, err := pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var berr, rerr error
	if err := raw.Control(func(fd uintptr) {
		broadcast, berr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST)
		reuseAddr, rerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR)
	}); err != nil || berr != nil || rerr != nil {
		t.Fatalf("getsockopt: %v %v %v", err, berr, rerr)
	}
	return broadcast, reuseAddr
}

// ListenPacket's socket has both options. A plain socket lacks SO_REUSEADDR, so the check can
// fail (Go's net package already sets SO_BROADCAST on every Linux datagram socket; ListenPacket
// sets it anyway rather than rely on that default). Linux refuses a send to a broadcast address
// such as 255.255.255.255 without SO_BROADCAST, which a loopback-only test cannot show;
// TestDiscoverCollectsEveryEntity shows SO_REUSEADDR at work: two entities share one port and
// both hear a broadcast.
func TestListenPacketSetsBroadcastAndReuseAddr(t *testing.T) {
	pc, err := ListenPacket(testCtx(t), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if b, r := sockopts(t, pc); b == 0 || r == 0 {
		t.Fatalf("ListenPacket socket: SO_BROADCAST=%d SO_REUSEADDR=%d, want both set", b, r)
	}
	plain, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, r := sockopts(t, plain); r != 0 {
		t.Fatalf("plain socket: SO_REUSEADDR=%d, want unset", r)
	}
}
