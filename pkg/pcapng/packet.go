package pcapng

import (
	"encoding/binary"
	"net/netip"
)

// The fixed, locally administered MACs of the synthetic link: the recording side and its peer.
var (
	localMAC  = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	remoteMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	protoTCP      = 6
	protoUDP      = 17

	ethernetLen = 14
	ipv4Len     = 20
	ipv6Len     = 40
	tcpLen      = 20
	udpLen      = 8

	// ttl is the IPv4 TTL and IPv6 hop limit of every synthetic packet.
	ttl = 64
	// window is the advertised TCP window; the trace has no flow control to show.
	window = 65535
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagPSH = 0x08
	flagACK = 0x10
)

var be = binary.BigEndian

// endpoints is a packet's source and destination, already oriented by direction.
type endpoints struct {
	srcMAC, dstMAC [6]byte
	src, dst       netip.AddrPort
}

// orient is the endpoints of a packet sent in dir on the socket local-remote.
func orient(dir Direction, local, remote netip.AddrPort) endpoints {
	if dir == Received {
		return endpoints{remoteMAC, localMAC, remote, local}
	}
	return endpoints{localMAC, remoteMAC, local, remote}
}

// tcpSegment is one TCP segment's header fields; mss, when set, adds the MSS option.
type tcpSegment struct {
	seq, ack uint32
	flags    uint8
	mss      uint16
}

// buildTCP is an Ethernet frame holding an IP packet holding seg and payload.
func buildTCP(e endpoints, ipID uint16, seg tcpSegment, payload []byte) []byte {
	hdrLen := tcpLen
	if seg.mss != 0 {
		hdrLen += 4
	}
	l4 := make([]byte, hdrLen, hdrLen+len(payload))
	be.PutUint16(l4[0:], e.src.Port())
	be.PutUint16(l4[2:], e.dst.Port())
	be.PutUint32(l4[4:], seg.seq)
	be.PutUint32(l4[8:], seg.ack)
	l4[12] = byte(hdrLen/4) << 4
	l4[13] = seg.flags
	be.PutUint16(l4[14:], window)
	if seg.mss != 0 {
		l4[20], l4[21] = 2, 4 // kind MSS, length 4
		be.PutUint16(l4[22:], seg.mss)
	}
	l4 = append(l4, payload...)
	be.PutUint16(l4[16:], transportChecksum(e, protoTCP, l4))
	return wrapIP(e, ipID, protoTCP, l4)
}

// buildUDP is an Ethernet frame holding an IP packet holding a UDP datagram of payload.
func buildUDP(e endpoints, ipID uint16, payload []byte) []byte {
	l4 := make([]byte, udpLen, udpLen+len(payload))
	be.PutUint16(l4[0:], e.src.Port())
	be.PutUint16(l4[2:], e.dst.Port())
	be.PutUint16(l4[4:], uint16(udpLen+len(payload)))
	l4 = append(l4, payload...)
	sum := transportChecksum(e, protoUDP, l4)
	if sum == 0 {
		sum = 0xFFFF // zero means "no checksum" in UDP
	}
	be.PutUint16(l4[6:], sum)
	return wrapIP(e, ipID, protoUDP, l4)
}

// wrapIP prepends the Ethernet and IPv4 or IPv6 headers to a transport segment.
func wrapIP(e endpoints, ipID uint16, proto uint8, l4 []byte) []byte {
	v4 := e.src.Addr().Is4()
	ipHdr := ipv6Len
	etherType := uint16(etherTypeIPv6)
	if v4 {
		ipHdr, etherType = ipv4Len, etherTypeIPv4
	}
	pkt := make([]byte, ethernetLen+ipHdr, ethernetLen+ipHdr+len(l4))
	copy(pkt[0:], e.dstMAC[:])
	copy(pkt[6:], e.srcMAC[:])
	be.PutUint16(pkt[12:], etherType)
	ip := pkt[ethernetLen:]
	if v4 {
		ip[0] = 0x45
		be.PutUint16(ip[2:], uint16(ipv4Len+len(l4)))
		be.PutUint16(ip[4:], ipID)
		be.PutUint16(ip[6:], 0x4000) // don't fragment
		ip[8] = ttl
		ip[9] = proto
		src, dst := e.src.Addr().As4(), e.dst.Addr().As4()
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		be.PutUint16(ip[10:], ^fold(sum16(0, ip[:ipv4Len])))
	} else {
		ip[0] = 0x60
		be.PutUint16(ip[4:], uint16(len(l4)))
		ip[6] = proto
		ip[7] = ttl
		src, dst := e.src.Addr().As16(), e.dst.Addr().As16()
		copy(ip[8:], src[:])
		copy(ip[24:], dst[:])
	}
	return append(pkt, l4...)
}

// transportChecksum is the TCP or UDP checksum of l4 (its checksum field zero) over the
// IPv4 or IPv6 pseudo header.
func transportChecksum(e endpoints, proto uint8, l4 []byte) uint16 {
	var s uint32
	if e.src.Addr().Is4() {
		src, dst := e.src.Addr().As4(), e.dst.Addr().As4()
		s = sum16(s, src[:])
		s = sum16(s, dst[:])
		s += uint32(proto) + uint32(len(l4))
	} else {
		src, dst := e.src.Addr().As16(), e.dst.Addr().As16()
		s = sum16(s, src[:])
		s = sum16(s, dst[:])
		s += uint32(len(l4))>>16 + uint32(len(l4))&0xFFFF + uint32(proto)
	}
	return ^fold(sum16(s, l4))
}

// sum16 adds b as big-endian 16-bit words (odd length padded with zero) to s, folding as it
// goes so any length fits.
func sum16(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if s > 0xFFFF0000 {
			s = s&0xFFFF + s>>16
		}
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// fold is the ones' complement sum s reduced to 16 bits.
func fold(s uint32) uint16 {
	for s > 0xFFFF {
		s = s&0xFFFF + s>>16
	}
	return uint16(s)
}
