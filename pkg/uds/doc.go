// Package uds implements the tester side of Unified Diagnostic Services (ISO 14229-1): request
// builders and response parsers for the services ecufleet jobs use, the negative response code
// names, decoding of values for humans, and a Client that handles response pending (0x78) and
// busy-repeat (0x21) answers over any transport, normally a DoIP connection.
//
// Builders return the raw request bytes so a job can log exactly what went on the wire; parsers
// take the raw response so the same bytes can be stored, compared and decoded.
//
// The flashing services (RequestDownload 0x34, TransferData 0x36, RequestTransferExit 0x37,
// ReadMemoryByAddress 0x23, CommunicationControl 0x28, ControlDTCSetting 0x85) are message
// types with MarshalBinary and UnmarshalBinary for request and answer alike, so a simulated
// ECU decodes what a tester encodes; Client.Download drives one segment of a flash. See
// docs/flashing.md.
package uds
