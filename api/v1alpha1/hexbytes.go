package v1alpha1

import (
	"fmt"
	"strings"
)

// HexBytes is bytes as hex pairs, spaces allowed ("22 F1 90"), so UDS messages read in YAML as in a trace.
// +kubebuilder:validation:Pattern=`^\s*([0-9A-Fa-f]{2}\s*)*$`
type HexBytes string

// HexError says where a HexBytes value stops being a byte string, so the user can fix that spot.
type HexError struct {
	// Offset is the byte offset of the offending character in the string.
	Offset int
	// Char is the offending character when Truncated is false.
	Char byte
	// Truncated is true when the string ends in the middle of a pair.
	Truncated bool
}

// Error names the position and what a valid value looks like.
func (e *HexError) Error() string {
	if e.Truncated {
		return fmt.Sprintf("hex byte string ends after a single hex digit at offset %d: write every byte as two hex digits, e.g. \"22 F1 90\"", e.Offset)
	}
	return fmt.Sprintf("hex byte string has %q at offset %d: write bytes as pairs of hex digits separated by optional spaces, e.g. \"22 F1 90\"", e.Char, e.Offset)
}

// Bytes decodes exactly the strings the CRD pattern accepts, so a value the API server stored always decodes.
func (h HexBytes) Bytes() ([]byte, error) {
	out := make([]byte, 0, len(h)/2)
	for i := 0; i < len(h); i++ {
		c := h[i]
		if isHexSpace(c) {
			continue
		}
		hi, ok := hexDigit(c)
		if !ok {
			return nil, &HexError{Offset: i, Char: c}
		}
		if i+1 == len(h) {
			return nil, &HexError{Offset: i, Truncated: true}
		}
		lo, ok := hexDigit(h[i+1])
		if !ok {
			return nil, &HexError{Offset: i + 1, Char: h[i+1]}
		}
		out = append(out, hi<<4|lo)
		i++
	}
	return out, nil
}

// NewHexBytes formats bytes as "22 F1 90", so specs, status and logs show bytes in one form.
func NewHexBytes(b []byte) HexBytes {
	const digits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(3 * len(b))
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&0x0F])
	}
	return HexBytes(sb.String())
}

// isHexSpace matches RE2's \s (tab, newline, form feed, carriage return, space) as the CRD pattern does.
func isHexSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
