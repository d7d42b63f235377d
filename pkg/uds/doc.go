// Package uds implements the tester side of Unified Diagnostic Services (ISO 14229-1): request
// builders and response parsers for the services ecufleet jobs use, the negative response code
// names, decoding of values for humans, and a Client that handles response pending (0x78) and
// busy-repeat (0x21) answers over any transport, normally a DoIP connection.
//
// Builders return the raw request bytes so a job can log exactly what went on the wire; parsers
// take the raw response so the same bytes can be stored, compared and decoded.
package uds
