package doip

import "fmt"

// NACKCode is the generic header NACK code: it tells the peer why a frame was not processed.
type NACKCode byte

// Generic DoIP header NACK codes (payload type 0x0000).
const (
	// NACKIncorrectPattern answers a header whose version or inverse version is wrong; the socket closes.
	NACKIncorrectPattern NACKCode = 0x00
	// NACKUnknownPayloadType answers a payload type the receiver does not support.
	NACKUnknownPayloadType NACKCode = 0x01
	// NACKMessageTooLarge answers a payload above the receiver's maximum.
	NACKMessageTooLarge NACKCode = 0x02
	// NACKOutOfMemory answers a payload the receiver cannot buffer right now.
	NACKOutOfMemory NACKCode = 0x03
	// NACKInvalidLength answers a payload whose length does not fit its type; the socket closes.
	NACKInvalidLength NACKCode = 0x04
)

// String names the code for logs and errors.
func (c NACKCode) String() string {
	switch c {
	case NACKIncorrectPattern:
		return "incorrect pattern format (0x00)"
	case NACKUnknownPayloadType:
		return "unknown payload type (0x01)"
	case NACKMessageTooLarge:
		return "message too large (0x02)"
	case NACKOutOfMemory:
		return "out of memory (0x03)"
	case NACKInvalidLength:
		return "invalid payload length (0x04)"
	}
	return fmt.Sprintf("reserved NACK code 0x%02X", byte(c))
}

// ActivationCode is the routing activation response code: it tells a tester whether it may
// send diagnostic messages on this socket and, if not, what to change.
type ActivationCode byte

// Routing activation response codes (payload type 0x0006).
const (
	// ActivationUnknownSource denies a tester address outside the allowed range.
	ActivationUnknownSource ActivationCode = 0x00
	// ActivationNoFreeSocket denies because every socket is registered and its tester answered.
	ActivationNoFreeSocket ActivationCode = 0x01
	// ActivationDifferentSource denies a second address on an already activated socket.
	ActivationDifferentSource ActivationCode = 0x02
	// ActivationSourceInUse denies an address already active on another, live socket.
	ActivationSourceInUse ActivationCode = 0x03
	// ActivationMissingAuthentication denies until the tester authenticates.
	ActivationMissingAuthentication ActivationCode = 0x04
	// ActivationRejectedConfirmation denies because the vehicle-side confirmation was refused.
	ActivationRejectedConfirmation ActivationCode = 0x05
	// ActivationUnsupportedType denies an activation type the entity does not accept.
	ActivationUnsupportedType ActivationCode = 0x06
	// ActivationTLSRequired denies a plain socket: reconnect with TLS on TLSPort.
	ActivationTLSRequired ActivationCode = 0x07
	// ActivationSuccess activates routing.
	ActivationSuccess ActivationCode = 0x10
	// ActivationConfirmationRequired activates routing once the vehicle confirms it.
	ActivationConfirmationRequired ActivationCode = 0x11
)

// String names the code for logs and errors.
func (c ActivationCode) String() string {
	if n, ok := activationNames[c]; ok {
		return fmt.Sprintf("%s (0x%02X)", n, byte(c))
	}
	return fmt.Sprintf("reserved activation code 0x%02X", byte(c))
}

var activationNames = map[ActivationCode]string{
	ActivationUnknownSource:         "unknown source address",
	ActivationNoFreeSocket:          "all sockets registered and active",
	ActivationDifferentSource:       "source address differs from the one activated on this socket",
	ActivationSourceInUse:           "source address already active on another socket",
	ActivationMissingAuthentication: "missing authentication",
	ActivationRejectedConfirmation:  "rejected confirmation",
	ActivationUnsupportedType:       "unsupported activation type",
	ActivationTLSRequired:           "TLS required",
	ActivationSuccess:               "success",
	ActivationConfirmationRequired:  "success, confirmation required",
}

// closesSocket reports whether ISO 13400-2 has the entity close the socket after sending c.
func (c ActivationCode) closesSocket() bool {
	switch c {
	case ActivationSuccess, ActivationConfirmationRequired, ActivationMissingAuthentication:
		return false
	}
	return true
}

// DiagnosticNACKCode says why an entity refused to route a diagnostic message.
type DiagnosticNACKCode byte

// Diagnostic message negative acknowledge codes (payload type 0x8003).
const (
	// DiagNACKInvalidSource refuses a message from a source that is not the activated one.
	DiagNACKInvalidSource DiagnosticNACKCode = 0x02
	// DiagNACKUnknownTarget refuses a message to a logical address the entity does not serve.
	DiagNACKUnknownTarget DiagnosticNACKCode = 0x03
	// DiagNACKMessageTooLarge refuses a message larger than the target accepts.
	DiagNACKMessageTooLarge DiagnosticNACKCode = 0x04
	// DiagNACKOutOfMemory refuses a message the entity cannot buffer now.
	DiagNACKOutOfMemory DiagnosticNACKCode = 0x05
	// DiagNACKTargetUnreachable refuses a message whose target is known but not reachable.
	DiagNACKTargetUnreachable DiagnosticNACKCode = 0x06
	// DiagNACKUnknownNetwork refuses a message for a network the entity does not know.
	DiagNACKUnknownNetwork DiagnosticNACKCode = 0x07
	// DiagNACKTransportProtocolError refuses a message the in-vehicle transport failed to carry.
	DiagNACKTransportProtocolError DiagnosticNACKCode = 0x08
)

// String names the code for logs and errors.
func (c DiagnosticNACKCode) String() string {
	switch c {
	case DiagNACKInvalidSource:
		return "invalid source address (0x02)"
	case DiagNACKUnknownTarget:
		return "unknown target address (0x03)"
	case DiagNACKMessageTooLarge:
		return "diagnostic message too large (0x04)"
	case DiagNACKOutOfMemory:
		return "out of memory (0x05)"
	case DiagNACKTargetUnreachable:
		return "target unreachable (0x06)"
	case DiagNACKUnknownNetwork:
		return "unknown network (0x07)"
	case DiagNACKTransportProtocolError:
		return "transport protocol error (0x08)"
	}
	return fmt.Sprintf("reserved diagnostic NACK code 0x%02X", byte(c))
}

// PowerMode tells a tester whether the vehicle is in a state that allows diagnostics.
type PowerMode byte

// Diagnostic power modes (payload type 0x4004).
const (
	// PowerModeNotReady means diagnostics are not possible now.
	PowerModeNotReady PowerMode = 0x00
	// PowerModeReady means diagnostics are possible.
	PowerModeReady PowerMode = 0x01
	// PowerModeNotSupported means the entity does not report its power mode.
	PowerModeNotSupported PowerMode = 0x02
)

// String is the one spelling of the mode for people: NotReady, Ready or NotSupported (a
// reserved value as 0x03), as the ECU status, the CLI and logs all show it.
func (m PowerMode) String() string {
	switch m {
	case PowerModeNotReady:
		return "NotReady"
	case PowerModeReady:
		return "Ready"
	case PowerModeNotSupported:
		return "NotSupported"
	}
	return fmt.Sprintf("0x%02X", byte(m))
}

// NodeType tells a tester whether an entity routes to other ECUs (gateway) or is one (node).
type NodeType byte

// Node types (entity status response).
const (
	// NodeGateway is an entity that routes diagnostic messages to ECUs behind it.
	NodeGateway NodeType = 0x00
	// NodeNode is an entity that is itself the ECU.
	NodeNode NodeType = 0x01
)

// String is the one spelling of the node type for people: Gateway or Node (a reserved value
// as 0x02), as the ECU status, the CLI and logs all show it.
func (n NodeType) String() string {
	switch n {
	case NodeGateway:
		return "Gateway"
	case NodeNode:
		return "Node"
	}
	return fmt.Sprintf("0x%02X", byte(n))
}
