package doip

import (
	"errors"
	"fmt"
)

// Error is every decoding and framing fault, so a receiver knows which generic NACK to send
// and whether ISO 13400-2 requires it to close the socket afterwards.
type Error struct {
	NACK  NACKCode // generic NACK code to answer with
	Close bool     // the socket must be closed after the NACK
	Err   error    // what exactly was wrong
}

// Error names the fault and the NACK it maps to.
func (e *Error) Error() string {
	action := "answer generic NACK " + e.NACK.String()
	if e.Close {
		action += " and close the socket"
	}
	return fmt.Sprintf("doip: %v (%s)", e.Err, action)
}

// Unwrap exposes the detail so errors.Is works on it.
func (e *Error) Unwrap() error { return e.Err }

// ActivationError reports a denied routing activation with the entity's full answer, so callers
// can act on the code (for example reconnect with TLS on ActivationTLSRequired).
type ActivationError struct {
	Response *RoutingActivationResponse
}

// Error names the denial code and what to try.
func (e *ActivationError) Error() string {
	hint := "check the tester address and activation type configured for this entity"
	switch e.Response.Code {
	case ActivationTLSRequired:
		hint = "reconnect with TLS on port 3496"
	case ActivationSourceInUse, ActivationNoFreeSocket:
		hint = "close the other tester's connection or wait for it to go away"
	}
	return fmt.Sprintf("doip: routing activation for tester 0x%04X denied by entity 0x%04X: %v; %s",
		e.Response.TesterAddress, e.Response.EntityAddress, e.Response.Code, hint)
}

// DiagnosticNACKError reports that the entity refused to route a diagnostic message.
type DiagnosticNACKError struct {
	Code   DiagnosticNACKCode
	Source uint16 // the address that sent the NACK
	Target uint16 // the tester address it was sent to
}

// Error names the refusal code.
func (e *DiagnosticNACKError) Error() string {
	return fmt.Sprintf("doip: diagnostic message refused by 0x%04X: %v", e.Source, e.Code)
}

// GenericNACKError reports that the peer rejected our frame with a generic header NACK.
type GenericNACKError struct {
	Code NACKCode
}

// Error names the NACK code.
func (e *GenericNACKError) Error() string {
	return fmt.Sprintf("doip: peer answered generic NACK %v", e.Code)
}

// ErrClosed is returned by a Conn or Server used after Close or Shutdown.
var ErrClosed = errors.New("doip: use of a closed connection or server")

// ErrNotAcknowledged marks a diagnostic send whose connection dropped before the entity's
// diagnostic ACK (0x8002) arrived: the entity did not confirm it, so a tester may send it again
// on a new connection. A drop after the ACK is reported without it, because the ECU may already
// have acted on the request.
var ErrNotAcknowledged = errors.New("doip: connection dropped before the entity acknowledged the diagnostic message")

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown, like http.ErrServerClosed.
var ErrServerClosed = errors.New("doip: server closed")
