package pcapng

import "encoding/binary"

// Block types and option codes of the pcapng format (draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	byteOrderMagic = 0x1A2B3C4D

	optEnd        = 0
	optComment    = 1
	optSHBUserApp = 4
	optIfName     = 2
	optIfTSResol  = 9
	optEPBFlags   = 2

	linkTypeEthernet = 1
	// snapLen is the IDB's snaplen; no synthetic packet is longer (UDP datagrams are bounded).
	snapLen = 262144

	// epbFlagsInbound and epbFlagsOutbound are the direction bits of epb_flags.
	epbFlagsInbound  = 1
	epbFlagsOutbound = 2
)

var le = binary.LittleEndian

// option is one pcapng option: a code and its value, padded to 32 bits when written.
type option struct {
	code  uint16
	value []byte
}

// pad4 is n rounded up to a multiple of four, the alignment of every pcapng field.
func pad4(n int) int { return (n + 3) &^ 3 }

// optionsLen is the encoded size of opts including opt_endofopt, or zero when opts is empty.
func optionsLen(opts []option) int {
	if len(opts) == 0 {
		return 0
	}
	n := 4
	for _, o := range opts {
		n += 4 + pad4(len(o.value))
	}
	return n
}

func appendOptions(b []byte, opts []option) []byte {
	if len(opts) == 0 {
		return b
	}
	for _, o := range opts {
		b = le.AppendUint16(b, o.code)
		b = le.AppendUint16(b, uint16(len(o.value)))
		b = append(b, o.value...)
		b = append(b, make([]byte, pad4(len(o.value))-len(o.value))...)
	}
	return le.AppendUint32(b, optEnd)
}

// appendBlock frames body (already 32-bit aligned) as a block of type typ.
func appendBlock(b []byte, typ uint32, body []byte) []byte {
	total := uint32(12 + len(body))
	b = le.AppendUint32(b, typ)
	b = le.AppendUint32(b, total)
	b = append(b, body...)
	return le.AppendUint32(b, total)
}

// sectionHeader is the SHB with the comment that says how the trace was made.
func sectionHeader(comment, app string) []byte {
	opts := []option{{optComment, []byte(comment)}, {optSHBUserApp, []byte(app)}}
	body := make([]byte, 0, 16+optionsLen(opts))
	body = le.AppendUint32(body, byteOrderMagic)
	body = le.AppendUint16(body, 1) // major version
	body = le.AppendUint16(body, 0) // minor version
	body = le.AppendUint64(body, ^uint64(0))
	body = appendOptions(body, opts)
	return appendBlock(nil, blockSHB, body)
}

// interfaceDescription is the one IDB: Ethernet, nanosecond timestamps.
func interfaceDescription(name string) []byte {
	opts := []option{{optIfName, []byte(name)}, {optIfTSResol, []byte{9}}}
	body := make([]byte, 0, 8+optionsLen(opts))
	body = le.AppendUint16(body, linkTypeEthernet)
	body = le.AppendUint16(body, 0)
	body = le.AppendUint32(body, snapLen)
	body = appendOptions(body, opts)
	return appendBlock(nil, blockIDB, body)
}

// appendPacket appends an EPB on interface 0 holding pkt, stamped ts nanoseconds after the
// epoch, with its direction and comments.
func appendPacket(b []byte, ts uint64, pkt []byte, dir Direction, comments []string) []byte {
	flags := uint32(epbFlagsOutbound)
	if dir == Received {
		flags = epbFlagsInbound
	}
	opts := make([]option, 0, len(comments)+1)
	for _, c := range comments {
		opts = append(opts, option{optComment, []byte(c)})
	}
	opts = append(opts, option{optEPBFlags, le.AppendUint32(nil, flags)})
	body := make([]byte, 0, 20+pad4(len(pkt))+optionsLen(opts))
	body = le.AppendUint32(body, 0)
	body = le.AppendUint32(body, uint32(ts>>32))
	body = le.AppendUint32(body, uint32(ts))
	body = le.AppendUint32(body, uint32(len(pkt)))
	body = le.AppendUint32(body, uint32(len(pkt)))
	body = append(body, pkt...)
	body = append(body, make([]byte, pad4(len(pkt))-len(pkt))...)
	body = appendOptions(body, opts)
	return appendBlock(b, blockEPB, body)
}
