package uds

import (
	"fmt"
	"time"
)

// NegativeResponseError is a 7F SID NRC answer; it is an error so callers can branch on the
// NRC with errors.As, and it keeps the raw bytes because jobs record exactly what came back.
type NegativeResponseError struct {
	// SID is the refused service.
	SID SID
	// NRC is the ECU's reason.
	NRC NRC
	// Response is the raw 7F SID NRC response.
	Response []byte
}

// Error names the refused service and the reason.
func (e *NegativeResponseError) Error() string {
	return fmt.Sprintf("ECU refused service %s: %s", e.SID, FormatNRC(byte(e.NRC)))
}

// TimeoutError reports that no final response arrived in time, naming the timer that expired
// (P2 before any response pending, P2* after one, or the overall pending limit) so the cause
// is clear: a silent ECU, or one stuck answering 0x78.
type TimeoutError struct {
	// SID is the service that got no final answer.
	SID SID
	// Timer is TimerP2, TimerP2Star or TimerPendingLimit.
	Timer string
	// Wait is the length of the timer that expired.
	Wait time.Duration
	// Pending counts the response pending answers received before it expired.
	Pending int
}

// Timer names used in TimeoutError.
const (
	// TimerP2 expired before the ECU answered at all.
	TimerP2 = "P2"
	// TimerP2Star expired after a response pending (0x78).
	TimerP2Star = "P2*"
	// TimerPendingLimit is the client's overall cap on a chain of response pending answers.
	TimerPendingLimit = "response pending limit"
)

// Error says which timer expired and what to check.
func (e *TimeoutError) Error() string {
	if e.Pending == 0 {
		return fmt.Sprintf("no response to service %s within %s (%s): check the target logical address and that the ECU is awake",
			e.SID, e.Timer, e.Wait)
	}
	return fmt.Sprintf("no final response to service %s within %s (%s) after %d response pending (0x78) answers: the ECU is slow or stuck; raise the timeout if that is expected",
		e.SID, e.Timer, e.Wait, e.Pending)
}

// Timeout marks the error as a timeout for callers that test net.Error-style.
func (e *TimeoutError) Timeout() bool { return true }

// ResponseError is a response that does not fit its request (wrong SID, wrong echo, bad
// length); it is distinct from a negative response because the ECU did not follow ISO 14229.
type ResponseError struct {
	// SID is the service of the request.
	SID SID
	// Response is the raw response received.
	Response []byte
	// Reason says what does not fit.
	Reason string
}

// Error names the service, what was wrong and the bytes received.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("malformed response to service %s: %s (got %s)", e.SID, e.Reason, FormatHex(e.Response))
}

// ArgumentError rejects a request parameter before anything is sent, naming the parameter.
type ArgumentError struct {
	// Name names the parameter and echoes its value.
	Name string
	// Reason lists the accepted values.
	Reason string
}

// Error names the bad parameter and the accepted values.
func (e *ArgumentError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Name, e.Reason)
}
