package pcapng

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// This file is a small, independent pcapng and packet reader for the tests: it parses what
// the writer wrote and checks every length and checksum on the way.

// trace is a parsed pcapng file.
type trace struct {
	sectionComments []string
	linkType        uint16
	tsResol         byte
	packets         []capturedPacket
}

// capturedPacket is one EPB and its decoded headers.
type capturedPacket struct {
	ts       uint64
	flags    uint32
	comments []string
	raw      []byte
	decoded
}

// decoded is what the Ethernet, IP and TCP/UDP headers of a packet say.
type decoded struct {
	proto    uint8
	src, dst netip.AddrPort
	seq, ack uint32
	tcpFlags uint8
	mss      uint16
	payload  []byte
}

func readTrace(b []byte) (*trace, error) {
	le := binary.LittleEndian
	t := &trace{}
	sawIDB := false
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			return nil, fmt.Errorf("block at %d: %d bytes left, need 12", off, len(b)-off)
		}
		typ, total := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if total < 12 || total%4 != 0 || total > len(b)-off {
			return nil, fmt.Errorf("block at %d: bad total length %d", off, total)
		}
		if int(le.Uint32(b[off+total-4:])) != total {
			return nil, fmt.Errorf("block at %d: trailing length differs", off)
		}
		body := b[off+8 : off+total-4]
		switch {
		case off == 0 && typ != blockSHB:
			return nil, fmt.Errorf("first block is 0x%08X, not a section header", typ)
		case typ == blockSHB:
			if len(body) < 16 || le.Uint32(body) != byteOrderMagic {
				return nil, fmt.Errorf("section header: bad byte-order magic")
			}
			opts, err := readOptions(body[16:])
			if err != nil {
				return nil, fmt.Errorf("section header: %w", err)
			}
			for _, o := range opts {
				if o.code == optComment {
					t.sectionComments = append(t.sectionComments, string(o.value))
				}
			}
		case typ == blockIDB:
			if len(body) < 8 {
				return nil, fmt.Errorf("interface description too short")
			}
			t.linkType = le.Uint16(body)
			opts, err := readOptions(body[8:])
			if err != nil {
				return nil, fmt.Errorf("interface description: %w", err)
			}
			for _, o := range opts {
				if o.code == optIfTSResol && len(o.value) == 1 {
					t.tsResol = o.value[0]
				}
			}
			sawIDB = true
		case typ == blockEPB:
			if !sawIDB {
				return nil, fmt.Errorf("packet before any interface description")
			}
			if len(body) < 20 {
				return nil, fmt.Errorf("packet block too short")
			}
			capLen, origLen := int(le.Uint32(body[12:])), int(le.Uint32(body[16:]))
			if capLen != origLen || 20+pad4(capLen) > len(body) || capLen > snapLen {
				return nil, fmt.Errorf("packet block: captured %d, original %d, body %d", capLen, origLen, len(body))
			}
			p := capturedPacket{ts: uint64(le.Uint32(body[4:]))<<32 | uint64(le.Uint32(body[8:])), raw: body[20 : 20+capLen]}
			opts, err := readOptions(body[20+pad4(capLen):])
			if err != nil {
				return nil, fmt.Errorf("packet %d: %w", len(t.packets), err)
			}
			for _, o := range opts {
				switch o.code {
				case optComment:
					p.comments = append(p.comments, string(o.value))
				case optEPBFlags:
					p.flags = le.Uint32(o.value)
				}
			}
			d, err := decodePacket(p.raw)
			if err != nil {
				return nil, fmt.Errorf("packet %d: %w", len(t.packets), err)
			}
			p.decoded = d
			t.packets = append(t.packets, p)
		default:
			return nil, fmt.Errorf("unexpected block type 0x%08X", typ)
		}
		off += total
	}
	return t, nil
}

func readOptions(b []byte) ([]option, error) {
	le := binary.LittleEndian
	var opts []option
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("option header cut short")
		}
		code, n := le.Uint16(b), int(le.Uint16(b[2:]))
		if code == optEnd {
			if len(b) != 4 || n != 0 {
				return nil, fmt.Errorf("bytes after opt_endofopt")
			}
			return opts, nil
		}
		if 4+pad4(n) > len(b) {
			return nil, fmt.Errorf("option %d of %d bytes overruns its block", code, n)
		}
		opts = append(opts, option{code, b[4 : 4+n]})
		b = b[4+pad4(n):]
	}
	return nil, fmt.Errorf("options without opt_endofopt")
}

func decodePacket(b []byte) (decoded, error) {
	var d decoded
	if len(b) < ethernetLen {
		return d, fmt.Errorf("shorter than Ethernet")
	}
	var srcIP, dstIP netip.Addr
	var l4 []byte
	var pseudo []byte
	switch be.Uint16(b[12:]) {
	case etherTypeIPv4:
		ip := b[ethernetLen:]
		if len(ip) < ipv4Len || ip[0] != 0x45 {
			return d, fmt.Errorf("bad IPv4 header")
		}
		if onesSum(ip[:ipv4Len]) != 0xFFFF {
			return d, fmt.Errorf("bad IPv4 header checksum")
		}
		if int(be.Uint16(ip[2:])) != len(ip) {
			return d, fmt.Errorf("IPv4 total length %d, packet %d", be.Uint16(ip[2:]), len(ip))
		}
		d.proto = ip[9]
		srcIP, dstIP = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		l4 = ip[ipv4Len:]
		pseudo = append(append([]byte{}, ip[12:20]...), 0, d.proto, byte(len(l4)>>8), byte(len(l4)))
	case etherTypeIPv6:
		ip := b[ethernetLen:]
		if len(ip) < ipv6Len || ip[0]>>4 != 6 {
			return d, fmt.Errorf("bad IPv6 header")
		}
		if int(be.Uint16(ip[4:])) != len(ip)-ipv6Len {
			return d, fmt.Errorf("IPv6 payload length %d, packet %d", be.Uint16(ip[4:]), len(ip)-ipv6Len)
		}
		d.proto = ip[6]
		srcIP, dstIP = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		l4 = ip[ipv6Len:]
		pseudo = append(append([]byte{}, ip[8:40]...), 0, 0, byte(len(l4)>>8), byte(len(l4)), 0, 0, 0, d.proto)
	default:
		return d, fmt.Errorf("unknown EtherType")
	}
	if onesSum(append(pseudo, l4...)) != 0xFFFF {
		return d, fmt.Errorf("bad transport checksum")
	}
	switch d.proto {
	case protoTCP:
		if len(l4) < tcpLen || int(l4[12]>>4)*4 > len(l4) || l4[12]>>4 < 5 {
			return d, fmt.Errorf("bad TCP header")
		}
		hl := int(l4[12]>>4) * 4
		d.seq, d.ack, d.tcpFlags = be.Uint32(l4[4:]), be.Uint32(l4[8:]), l4[13]
		if hl == 24 && l4[20] == 2 && l4[21] == 4 {
			d.mss = be.Uint16(l4[22:])
		}
		d.payload = l4[hl:]
	case protoUDP:
		if len(l4) < udpLen || int(be.Uint16(l4[4:])) != len(l4) {
			return d, fmt.Errorf("bad UDP header")
		}
		d.payload = l4[udpLen:]
	default:
		return d, fmt.Errorf("unknown IP protocol %d", d.proto)
	}
	d.src = netip.AddrPortFrom(srcIP, be.Uint16(l4[0:]))
	d.dst = netip.AddrPortFrom(dstIP, be.Uint16(l4[2:]))
	return d, nil
}

// onesSum is the Internet ones' complement sum of b, written out plainly so it checks the
// writer's own arithmetic rather than reusing it.
func onesSum(b []byte) uint16 {
	var s uint64
	for i := 0; i < len(b); i += 2 {
		w := uint64(b[i]) << 8
		if i+1 < len(b) {
			w |= uint64(b[i+1])
		}
		s += w
	}
	for s > 0xFFFF {
		s = s>>16 + s&0xFFFF
	}
	return uint16(s)
}
