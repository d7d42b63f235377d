package agent

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// answerKind says which rules judge a step's answer.
type answerKind int

const (
	// answerNone: the step waits or reconnects; it passes unless it failed.
	answerNone answerKind = iota
	// answerDoIP: a DoIP control answer; it passes when it came (and granted what was asked).
	answerDoIP
	// answerUDS: a UDS response; it passes when positive unless expect says otherwise.
	answerUDS
)

// stepAnswer is what one step saw on the wire, before its expectation is checked.
type stepAnswer struct {
	kind    answerKind
	request []byte
	// requestText replaces the hex of request in the step's status: a download summarises
	// its thousands of requests.
	requestText string
	response    []byte
	negative    bool  // the ECU refused: UDS 7F, or a routing activation denial
	nrc         *byte // the NRC of a UDS negative response
	value       string
	note        string // context kept in the step message, e.g. an automatic reconnect
	err         error  // no usable answer
}

// stepVerdict is a step's answer judged against its expectation: the step passed or failed, and why.
type stepVerdict struct {
	passed  bool
	message string
}

// judgeStep checks a step's answer against the step's expectation. Without one (or with an empty one) a
// UDS step passes on a positive response and a DoIP step when it got its answer; with one, every
// member that is set must hold, so a negative response can be the expected result.
func judgeStep(e *v1alpha1.Expectation, o stepAnswer) stepVerdict {
	if o.err != nil {
		return stepVerdict{message: joinNotes(o.err.Error(), o.note)}
	}
	if e == nil || *e == (v1alpha1.Expectation{}) {
		if o.negative {
			return stepVerdict{message: joinNotes("negative answer: "+describe(o), o.note)}
		}
		return stepVerdict{passed: true, message: o.note}
	}
	var fails []string
	fail := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if e.Positive != nil && *e.Positive == o.negative {
		if *e.Positive {
			fail("expected a positive answer, got %s", describe(o))
		} else {
			fail("expected a negative answer, got %s", describe(o))
		}
	}
	if e.NRC != nil {
		switch want := byte(*e.NRC); {
		case o.kind != answerUDS:
			fail("expect.nrc applies only to UDS steps (diagnostic or uds)")
		case o.nrc == nil:
			fail("expected NRC %s, got %s", uds.FormatNRC(want), describe(o))
		case *o.nrc != want:
			fail("expected NRC %s, got NRC %s", uds.FormatNRC(want), uds.FormatNRC(*o.nrc))
		}
	}
	if e.Response != "" {
		if want, err := e.Response.Bytes(); err != nil {
			fail("expect.response: %v", err)
		} else if !bytes.Equal(o.response, want) {
			fail("expected response %s, got %s", hexOrNone(want), hexOrNone(o.response))
		}
	}
	if e.ResponsePrefix != "" {
		if want, err := e.ResponsePrefix.Bytes(); err != nil {
			fail("expect.responsePrefix: %v", err)
		} else if !bytes.HasPrefix(o.response, want) {
			fail("expected a response starting with %s, got %s", hexOrNone(want), hexOrNone(o.response))
		}
	}
	if e.Value != nil && o.value != *e.Value {
		fail("expected value %q, got %q", cutText(*e.Value, maxMessageBytes), cutText(o.value, maxMessageBytes))
	}
	if len(fails) > 0 {
		return stepVerdict{message: joinNotes(strings.Join(fails, "; "), o.note)}
	}
	return stepVerdict{passed: true, message: o.note}
}

// describe summarises an answer for a failure message.
func describe(o stepAnswer) string {
	switch {
	case o.nrc != nil:
		return fmt.Sprintf("NRC %s (%s)", uds.FormatNRC(*o.nrc), hexOrNone(o.response))
	case o.negative && o.value != "":
		return o.value
	case o.negative:
		return hexOrNone(o.response)
	case o.kind == answerUDS && o.response == nil:
		return "no response (suppressed positive response)"
	}
	return "positive answer " + hexOrNone(o.response)
}

// hexOrNone renders bytes for a message; an empty answer says so instead of printing nothing.
func hexOrNone(b []byte) string {
	if len(b) == 0 {
		return "(no bytes)"
	}
	return cutHex(b, maxMessageBytes)
}

// joinNotes appends an explanatory note to a message.
func joinNotes(msg, note string) string {
	switch {
	case note == "":
		return msg
	case msg == "":
		return note
	}
	return msg + " (" + note + ")"
}

// Limits on bytes written into job status, which must stay far below etcd's object size limit
// even with 256 steps.
const (
	// maxResponseBytes is where a request or response in status.steps is cut (in bytes), and a
	// value (in characters), as the API promises.
	maxResponseBytes = 4096
	// maxMessageBytes bounds the bytes quoted in a failure message.
	maxMessageBytes = 64
	// statusByteBudget is the total of request and response bytes and value characters one
	// job's status may hold; beyond it the remaining steps keep only maxMessageBytes of each.
	statusByteBudget = 256 << 10
)

// cutHex renders at most limit bytes of b in hex and marks a cut with the full length.
func cutHex(b []byte, limit int) string {
	if len(b) <= limit {
		return uds.FormatHex(b)
	}
	return fmt.Sprintf("%s ... (cut, %d bytes)", uds.FormatHex(b[:limit]), len(b))
}

// cutText keeps at most limit characters of a decoded value and marks a cut with the full
// length: a DID of 100 KiB decodes to 300 KiB of hex, and a few of those would push the job's
// status past what the API server accepts. Values are ASCII (text, hex, DTC lists).
func cutText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return fmt.Sprintf("%s ... (cut, %d characters)", s[:limit], len(s))
}
