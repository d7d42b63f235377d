package pcapng

import (
	"net/netip"
	"time"
)

// Direction says which side of a connection sent a frame, seen from the recording side.
type Direction uint8

const (
	// Sent is a frame the local side wrote.
	Sent Direction = iota
	// Received is a frame the local side read.
	Received
)

// Transport says whether a frame travelled over TCP or UDP, which selects the synthetic
// headers around it.
type Transport uint8

const (
	// TCP frames belong to a connection and get sequence numbers.
	TCP Transport = iota
	// UDP frames are single datagrams.
	UDP
)

// Frame is one whole DoIP message (8-byte header and payload) as it crossed a socket.
type Frame struct {
	// Time is when the message was written or read.
	Time time.Time
	// Dir says whether the local side sent or received it.
	Dir Direction
	// Transport selects TCP or UDP.
	Transport Transport
	// Local and Remote are the socket's own and peer addresses.
	Local, Remote netip.AddrPort
	// Data is the DoIP message; the writer does not keep or modify it.
	Data []byte
	// Tail, when set, is the rest of the message after Data (doip.Frame.Tail: a flash block's
	// data sent from a buffer of its own), so a trace that trims the block copies none of it.
	Tail []byte
	// Comment names the job step the message belongs to, or what it is for outside any step.
	Comment string
}

// EventKind says what happened to a TCP connection.
type EventKind uint8

const (
	// Open is a connection being established; the writer synthesises SYN, SYN-ACK, ACK.
	Open EventKind = iota
	// Close is a connection being shut down; the writer synthesises FIN, FIN-ACK, ACK.
	Close
)

// Event is an open or close of a TCP connection, so the trace shows the connection's life.
type Event struct {
	// Time is when the connection was opened or closed.
	Time time.Time
	// Kind is Open or Close.
	Kind EventKind
	// Dir says which side acted: Sent when the local side connected or closed first.
	Dir Direction
	// Local and Remote are the socket's own and peer addresses.
	Local, Remote netip.AddrPort
	// Comment says what the connection is for (for example the ECU's name).
	Comment string
}
