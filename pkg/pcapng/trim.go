package pcapng

import "strconv"

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

// trims reports whether msg is a TransferData block that a trace trims: longer than it keeps,
// and with a header that matches its length. Any other message is stored as it was sent.
func trims(msg []byte) bool {
	return len(msg) > trimmedLen && be.Uint16(msg[2:]) == doipTypeDiagnosticMsg &&
		uint64(be.Uint32(msg[4:])) == uint64(len(msg)-doipHeaderLen) &&
		msg[doipHeaderLen+diagAddressLen] == udsTransferData
}

// appendTrimmed appends the trimmed form of msg, which trims, to dst: its first trimmedLen
// bytes with the DoIP payload length rewritten to match.
func appendTrimmed(dst, msg []byte) []byte {
	n := len(dst)
	dst = append(dst, msg[:trimmedLen]...)
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

// trimTransferData returns msg with a TransferData block's data cut to TransferDataKeep bytes
// and the DoIP payload length rewritten to match, plus a comment giving the original size.
// Any other message, or one whose header does not match its length, comes back unchanged
// with an empty comment: the trace shows what was sent.
func trimTransferData(msg []byte) ([]byte, string) {
	if !trims(msg) {
		return msg, ""
	}
	out := appendTrimmed(make([]byte, 0, trimmedLen+128), msg) // the note is built behind the bytes: one allocation
	return out, string(appendTrimNote(out[trimmedLen:], len(msg)))
}
