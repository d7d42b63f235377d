package pcapng

import (
	"slices"
	"strconv"
)

const (
	doipHeaderLen         = 8
	doipTypeDiagnosticMsg = 0x8001
	udsTransferData       = 0x36
	diagAddressLen        = 4 // source and target logical address before the UDS bytes
	transferDataHeaderLen = 2 // SID and block sequence counter
	// TransferDataKeep is how many data bytes of a TransferData block a trace keeps: enough
	// to recognise the block, little enough that a flash job's trace stays small.
	TransferDataKeep = 64
	// trimmedLen is the length of a trimmed TransferData message.
	trimmedLen = doipHeaderLen + diagAddressLen + transferDataHeaderLen + TransferDataKeep
)

// trims reports whether f is a TransferData block that a trace trims: longer than it keeps,
// and with a header that matches its length. Any other message is stored as it was sent.
func trims(f *Frame) bool {
	var h [doipHeaderLen + diagAddressLen + 1]byte // up to the SID
	size := f.size()
	return size > trimmedLen && f.copyPrefix(h[:]) == len(h) && be.Uint16(h[2:]) == doipTypeDiagnosticMsg &&
		uint64(be.Uint32(h[4:])) == uint64(size-doipHeaderLen) && h[doipHeaderLen+diagAddressLen] == udsTransferData
}

// size is the length of f's message, Data and Tail.
func (f *Frame) size() int { return len(f.Data) + len(f.Tail) }

// copyPrefix copies the first bytes of f's message into dst and returns how many it copied.
func (f *Frame) copyPrefix(dst []byte) int {
	n := copy(dst, f.Data)
	return n + copy(dst[n:], f.Tail)
}

// appendMessage appends f's whole message to dst.
func (f *Frame) appendMessage(dst []byte) []byte { return append(append(dst, f.Data...), f.Tail...) }

// appendTrimmed appends the trimmed form of f, which trims, to dst: its first trimmedLen
// bytes with the DoIP payload length rewritten to match.
func appendTrimmed(dst []byte, f *Frame) []byte {
	n := len(dst)
	dst = slices.Grow(dst, trimmedLen)[:n+trimmedLen]
	f.copyPrefix(dst[n:])
	be.PutUint32(dst[n+4:], uint32(trimmedLen-doipHeaderLen))
	return dst
}

// appendTrimNote appends the comment of a TransferData block trimmed from a DoIP message of
// msgLen bytes, built with strconv, not fmt: a flash trims thousands of blocks.
func appendTrimNote(dst []byte, msgLen int) []byte {
	dst = append(dst, "TransferData trimmed for the trace: "...)
	dst = strconv.AppendInt(dst, TransferDataKeep, 10)
	dst = append(dst, " of "...)
	dst = strconv.AppendInt(dst, int64(msgLen-(trimmedLen-TransferDataKeep)), 10)
	dst = append(dst, " data bytes kept (DoIP message of "...)
	dst = strconv.AppendInt(dst, int64(msgLen), 10)
	dst = append(dst, " bytes, now "...)
	dst = strconv.AppendInt(dst, trimmedLen, 10)
	return append(dst, ')')
}

// trimmed returns f's message, a TransferData block that trims, with its data cut to
// TransferDataKeep bytes and the DoIP payload length rewritten to match, plus a comment giving
// the original size. Any other message is stored as it was sent: the trace shows what was sent.
func trimmed(f *Frame) ([]byte, string) {
	out := appendTrimmed(make([]byte, 0, trimmedLen+128), f) // the note is built behind the bytes: one allocation
	return out, string(appendTrimNote(out[trimmedLen:], f.size()))
}
