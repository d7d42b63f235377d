package ecusim

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// DropPoint says where a DropConnection fault closes the tester's socket.
type DropPoint int

const (
	// DropBeforeACK closes the socket while the request arrives: the entity neither
	// acknowledges nor serves it, so a tester may safely send it again.
	DropBeforeACK DropPoint = iota + 1
	// DropAfterACK lets the ECU serve the request and closes the socket right after its
	// diagnostic ACK (0x8002), before any response: the ECU acted, the tester cannot know.
	DropAfterACK
)

// String names the point as the tests print it.
func (p DropPoint) String() string {
	switch p {
	case DropBeforeACK:
		return "before the ACK"
	case DropAfterACK:
		return "after the ACK"
	}
	return fmt.Sprintf("DropPoint(%d)", int(p))
}

// DoIP framing the fault sockets look at: the generic header, a diagnostic message's payload
// type, and the bytes up to its first UDS byte (source and target address).
const (
	headerLen      = 8
	diagPrefixLen  = headerLen + 5 // header, source, target, service id
	typeDiagnostic = 0x8001
	typeDiagACK    = 0x8002
	typeDiagNACK   = 0x8003
)

// faults is the simulator's armed DropConnection fault, shared by its sockets.
type faults struct {
	armed    atomic.Bool // fast path: no fault waits
	injected atomic.Uint64

	mu   sync.Mutex
	sid  byte
	left int // matching requests to arrive before (and including) the one that drops
	at   DropPoint
}

// DropConnection arms a one-shot fault: the nth request (1: the next one) of service sid that
// arrives from now on, on any socket and to any of the entity's ECUs, has its socket closed at
// the given point. It lets tests prove that a tester never sends twice what the ECU may
// already have served. A second call replaces a fault that has not fired yet.
func (s *Sim) DropConnection(sid byte, nth int, at DropPoint) error {
	if nth < 1 {
		return fmt.Errorf("ecusim: DropConnection: nth is %d; count requests from 1 (the next one)", nth)
	}
	if at != DropBeforeACK && at != DropAfterACK {
		return fmt.Errorf("ecusim: DropConnection: %v is not a drop point; use DropBeforeACK or DropAfterACK", at)
	}
	f := &s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sid, f.left, f.at = sid, nth, at
	f.armed.Store(true)
	return nil
}

// DropsInjected counts the sockets DropConnection faults have closed, so a test or a soak
// run can report the faults it injected.
func (s *Sim) DropsInjected() uint64 { return s.faults.injected.Load() }

// match counts a request of service sid against the armed fault and returns where its socket
// must drop (0: it passes).
func (f *faults) match(sid byte) DropPoint {
	if !f.armed.Load() {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed.Load() || sid != f.sid {
		return 0
	}
	if f.left--; f.left > 0 {
		return 0
	}
	f.armed.Store(false)
	f.injected.Add(1)
	return f.at
}

// faultListener hands out sockets that can carry out a DropConnection fault.
type faultListener struct {
	net.Listener
	f *faults
}

// Accept implements net.Listener.
func (l *faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	return &faultConn{Conn: c, f: l.f}, nil
}

// faultConn follows the DoIP frames of one socket in both directions: it recognises each
// diagnostic message as it arrives (before the Server sees it) and counts the ACKs and NACKs
// the Server writes, one per diagnostic message and in their order, so it can close the socket
// before a chosen request is complete or right after its ACK.
type faultConn struct {
	net.Conn
	f *faults

	// Read side, owned by the Server's reader of the socket (one at a time).
	head     [diagPrefixLen]byte // the start of the frame being read
	headLen  int
	rest     uint64 // bytes of the frame being read after head
	received int    // diagnostic messages read on this socket

	mu     sync.Mutex
	dropAt int // drop right after the dropAt-th ACK or NACK written (0: none)
	acked  int // ACKs and NACKs written
	dead   bool
}

// Read implements net.Conn; a socket dropped before a request's ACK ends with the request
// incomplete, so the Server never acknowledges nor serves it.
func (c *faultConn) Read(b []byte) (int, error) {
	if c.isDead() {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(b)
	keep, drop := c.scanRead(b[:n])
	if !drop {
		return n, err
	}
	c.kill()
	if keep == 0 {
		return 0, io.EOF
	}
	return keep, nil
}

// scanRead follows the frames in b; for a request that must drop before its ACK it returns
// how many bytes of b to deliver (the request stays a byte short) and true.
func (c *faultConn) scanRead(b []byte) (keep int, drop bool) {
	for i := 0; i < len(b); {
		if c.rest > 0 {
			k := int(min(uint64(len(b)-i), c.rest))
			i += k
			c.rest -= uint64(k)
			continue
		}
		want := headerLen
		if c.headLen >= headerLen {
			want = diagPrefixLen
		}
		k := copy(c.head[c.headLen:want], b[i:])
		c.headLen += k
		i += k
		if c.headLen < want {
			continue
		}
		typ, length := binary.BigEndian.Uint16(c.head[2:4]), binary.BigEndian.Uint32(c.head[4:8])
		if want == headerLen {
			if typ != typeDiagnostic || length < diagPrefixLen-headerLen {
				c.rest, c.headLen = uint64(length), 0
			}
			continue
		}
		c.rest, c.headLen = uint64(length)-(diagPrefixLen-headerLen), 0
		c.received++
		switch c.f.match(c.head[diagPrefixLen-1]) {
		case DropBeforeACK:
			return i - 1, true
		case DropAfterACK:
			c.mu.Lock()
			c.dropAt = c.received
			c.mu.Unlock()
		}
	}
	return len(b), false
}

// Write implements net.Conn. The Server writes whole frames; when the ACK or NACK a fault
// waits for is among them, the frames up to it are written and the socket closes, and the
// write reports success so the Handler still serves the request, as a real ECU would.
func (c *faultConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	cut := -1
	for i := 0; i+headerLen <= len(b); {
		typ, length := binary.BigEndian.Uint16(b[i+2:i+4]), binary.BigEndian.Uint32(b[i+4:i+8])
		end := i + headerLen + int(length)
		if typ == typeDiagACK || typ == typeDiagNACK {
			if c.acked++; c.acked == c.dropAt {
				cut = min(end, len(b))
				break
			}
		}
		i = end
	}
	c.mu.Unlock()
	if cut < 0 {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(b[:cut]); err != nil {
		return 0, err
	}
	c.kill()
	return len(b), nil
}

// isDead reports whether a fault closed the socket.
func (c *faultConn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// kill closes the socket for a fault.
func (c *faultConn) kill() {
	c.mu.Lock()
	c.dead = true
	c.mu.Unlock()
	c.Conn.Close()
}
