package ecusim

import (
	"net"
	"strconv"
	"testing"
)

// The port FreePort returns can be bound for TCP and for UDP.
func TestFreePort(t *testing.T) {
	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP on the free port %d: %v", port, err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP on the free port %d: %v", port, err)
	}
	u.Close()
}
