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
)

// trimTransferData returns msg with a TransferData block's data cut to TransferDataKeep bytes
// and the DoIP payload length rewritten to match, plus a comment giving the original size.
// Any other message, or one whose header does not match its length, comes back unchanged
// with an empty comment: the trace shows what was sent.
func trimTransferData(msg []byte) ([]byte, string) {
	const keep = doipHeaderLen + diagAddressLen + transferDataHeaderLen + TransferDataKeep
	if len(msg) <= keep || be.Uint16(msg[2:]) != doipTypeDiagnosticMsg ||
		uint64(be.Uint32(msg[4:])) != uint64(len(msg)-doipHeaderLen) ||
		msg[doipHeaderLen+diagAddressLen] != udsTransferData {
		return msg, ""
	}
	out := make([]byte, keep, keep+128) // the comment is built behind the bytes: one allocation
	copy(out, msg[:keep])
	be.PutUint32(out[4:], uint32(keep-doipHeaderLen))
	data := len(msg) - (keep - TransferDataKeep)
	// The note is appended with strconv, not fmt: a flash trims thousands of blocks.
	note := append(out[keep:], "TransferData trimmed for the trace: "...)
	note = strconv.AppendInt(note, TransferDataKeep, 10)
	note = append(note, " of "...)
	note = strconv.AppendInt(note, int64(data), 10)
	note = append(note, " data bytes kept (DoIP message of "...)
	note = strconv.AppendInt(note, int64(len(msg)), 10)
	note = append(note, " bytes, now "...)
	note = strconv.AppendInt(note, keep, 10)
	note = append(note, ')')
	return out, string(note)
}
