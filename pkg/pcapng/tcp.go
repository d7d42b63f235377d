package pcapng

import (
	"hash/fnv"
	"net/netip"
)

// connKey names a TCP connection by its normalised socket addresses.
type connKey struct{ local, remote netip.AddrPort }

// tcpConn is the next sequence number of each side of a connection, indexed by Direction.
type tcpConn struct{ next [2]uint32 }

// handshake opens key's connection with SYN, SYN-ACK and ACK from the side dir, appending
// the packets to w.pending.
func (w *Writer) handshake(key connKey, dir Direction, ts uint64, why string) *tcpConn {
	other := 1 - dir
	c := &tcpConn{}
	c.next[dir], c.next[other] = isn(key, dir, w.opened), isn(key, other, w.opened)
	w.opened++
	mss := uint16(w.mss(key))
	steps := []struct {
		from  Direction
		flags uint8
		mss   uint16
		name  string
	}{
		{dir, flagSYN, mss, "SYN"},
		{other, flagSYN | flagACK, mss, "SYN-ACK"},
		{dir, flagACK, 0, "ACK"},
	}
	for _, s := range steps {
		seg := tcpSegment{seq: c.next[s.from], flags: s.flags, mss: s.mss}
		if s.flags&flagACK != 0 {
			seg.ack = c.next[1-s.from]
		}
		if s.flags&flagSYN != 0 {
			c.next[s.from]++
		}
		w.pending = appendPacket(w.pending, ts, buildTCP(orient(s.from, key.local, key.remote), w.nextID(), seg, nil),
			s.from, []string{synthetic(why, "TCP handshake "+s.name)})
	}
	w.conns[key] = c
	return c
}

// finish closes c with FIN-ACK from dir, FIN-ACK from its peer and the last ACK.
func (w *Writer) finish(key connKey, c *tcpConn, dir Direction, ts uint64, why string) {
	other := 1 - dir
	steps := []struct {
		from  Direction
		flags uint8
		name  string
	}{
		{dir, flagFIN | flagACK, "FIN"},
		{other, flagFIN | flagACK, "FIN"},
		{dir, flagACK, "ACK"},
	}
	for _, s := range steps {
		seg := tcpSegment{seq: c.next[s.from], ack: c.next[1-s.from], flags: s.flags}
		if s.flags&flagFIN != 0 {
			c.next[s.from]++
		}
		w.pending = appendPacket(w.pending, ts, buildTCP(orient(s.from, key.local, key.remote), w.nextID(), seg, nil),
			s.from, []string{synthetic(why, "TCP close "+s.name)})
	}
	delete(w.conns, key)
}

// mss is the segment size for key's address family.
func (w *Writer) mss(key connKey) int {
	if w.opts.MSS != 0 {
		return w.opts.MSS
	}
	if key.local.Addr().Is4() {
		return 1500 - ipv4Len - tcpLen
	}
	return 1500 - ipv6Len - tcpLen
}

// isn is a side's initial sequence number: fixed by the connection's addresses and how many
// connections the trace opened before it, so traces are reproducible, yet different per
// side and per connection (also when a socket pair is reused after a close) so Wireshark
// does not take a new connection for retransmissions of the old one.
func isn(key connKey, side Direction, opened int) uint32 {
	h := fnv.New32a()
	for _, ap := range []netip.AddrPort{key.local, key.remote} {
		b, _ := ap.MarshalBinary()
		h.Write(b)
	}
	h.Write([]byte{byte(side), byte(opened >> 24), byte(opened >> 16), byte(opened >> 8), byte(opened)})
	return h.Sum32()
}
