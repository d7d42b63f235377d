// Package pcapng rebuilds a DoIP conversation as a pcapng file that Wireshark dissects as
// DoIP and UDS.
//
// The agent and the command line tester see DoIP messages, not packets, so a Writer
// synthesises the rest: Ethernet with fixed locally administered MACs, IPv4 or IPv6, TCP with
// a handshake at open, per-direction sequence and acknowledgement numbers, segments within
// the MSS and a FIN exchange at close, and UDP for UDP messages. Every packet carries a
// comment naming its step, and the section header says the trace was rebuilt, not captured.
// TransferData (UDS 0x36) blocks are cut to their first 64 data bytes so a flash job's trace
// stays small, and a byte budget stops storing once full, counting the frames it dropped.
package pcapng
