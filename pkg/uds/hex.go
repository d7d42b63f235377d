package uds

import (
	"encoding/hex"
	"strings"
)

// FormatHex renders bytes as "62 F1 90", the notation lab engineers read and write UDS in.
func FormatHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	out := make([]byte, 0, len(b)*3-1)
	for i, v := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, hexDigits[v>>4], hexDigits[v&0x0F])
	}
	return string(out)
}

const hexDigits = "0123456789ABCDEF"

// ParseHex reads the hex notation of job specs and the command line: spaces, tabs, ':' and
// '-' separators and an optional 0x prefix are accepted, so "22 F1 90", "22F190" and
// "0x22F190" are the same request.
func ParseHex(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', ':', '-':
			return -1
		}
		return r
	}, s)
	if len(clean) >= 2 && (clean[:2] == "0x" || clean[:2] == "0X") {
		clean = clean[2:]
	}
	if len(clean)%2 != 0 {
		return nil, &ArgumentError{Name: "hex string " + quote(s), Reason: "odd number of hex digits; write each byte as two digits"}
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, &ArgumentError{Name: "hex string " + quote(s), Reason: "only hex digits 0-9 A-F and separators are allowed"}
	}
	return b, nil
}

// quote bounds user input echoed in errors so a huge argument cannot flood a log line.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + s + `"`
}
