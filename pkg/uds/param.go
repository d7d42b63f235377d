package uds

import (
	"fmt"
	"strconv"
	"strings"
)

// named is one named value of a sub-function parameter (a session, a reset type, ...).
type named struct {
	name  string
	value byte
}

// namedSet is the ordered list of names a parameter accepts, in ISO order.
type namedSet []named

// parse resolves a value given by name (case-insensitive) or as an integer ("3", "0x03")
// within 1..max, so every named parameter accepts the same forms as job specs do.
func (ns namedSet) parse(param, s string, max byte) (byte, error) {
	t := strings.TrimSpace(s)
	for _, n := range ns {
		if strings.EqualFold(n.name, t) {
			return n.value, nil
		}
	}
	v, err := strconv.ParseUint(t, 0, 8)
	if err != nil || v == 0 || v > uint64(max) {
		names := make([]string, len(ns))
		for i, n := range ns {
			names[i] = n.name
		}
		return 0, &ArgumentError{Name: param + " " + quote(s),
			Reason: fmt.Sprintf("want one of %s or an integer 1..0x%02X", strings.Join(names, ", "), max)}
	}
	return byte(v), nil
}

// name returns the name of v, or its hex form when it has none.
func (ns namedSet) name(v byte) string {
	for _, n := range ns {
		if n.value == v {
			return n.name
		}
	}
	return fmt.Sprintf("0x%02X", v)
}
