package ecusim

import (
	"errors"
	"net"
	"strconv"
)

// FreePort returns a port that is free on host for both TCP and UDP right now, as a simulator
// started as a process of its own needs both on one number (tests that restart a simulator on
// the same port). Another process may still take it before the simulator binds it.
func FreePort(host string) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("ecusim: no port free for both TCP and UDP on " + host + " after 20 tries")
}
