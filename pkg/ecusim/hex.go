package ecusim

import (
	"encoding/json"
	"reflect"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// Hex is a byte string written as hex text ("22 F1 90"). It must be a quoted string in YAML:
// an unquoted 0102 or 0x22 would be read as a number, so numbers are refused with an error
// that names the field instead of being silently converted.
type Hex string

// UnmarshalJSON accepts only JSON strings.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "number or other non-string (quote hex bytes in YAML)", Type: reflect.TypeFor[Hex]()}
	}
	*h = Hex(s)
	return nil
}

// bytes decodes the hex text.
func (h Hex) bytes() ([]byte, error) { return uds.ParseHex(string(h)) }
