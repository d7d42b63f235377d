package uds

import "fmt"

// checkSecurityLevel enforces ISO 14229-1's parity rule: requestSeed levels are odd,
// sendKey levels are the even level above them, all within 0x01..0x7E.
func checkSecurityLevel(level byte, wantOdd bool) error {
	odd := level%2 == 1
	if level == 0 || level > 0x7E || odd != wantOdd {
		kind, hint := "sendKey", "even (the seed level + 1)"
		if wantOdd {
			kind, hint = "requestSeed", "odd"
		}
		return &ArgumentError{Name: fmt.Sprintf("security access %s level 0x%02X", kind, level),
			Reason: "must be " + hint + " and within 0x01..0x7E"}
	}
	return nil
}

// SecurityAccessSeed builds 27 <odd level>, the seed request that starts an unlock.
func SecurityAccessSeed(level byte) ([]byte, error) {
	if err := checkSecurityLevel(level, true); err != nil {
		return nil, err
	}
	return []byte{byte(SIDSecurityAccess), level}, nil
}

// SecurityAccessKey builds 27 <even level> <key>, the answer to a seed.
func SecurityAccessKey(level byte, key []byte) ([]byte, error) {
	if err := checkSecurityLevel(level, false); err != nil {
		return nil, err
	}
	return append([]byte{byte(SIDSecurityAccess), level}, key...), nil
}

// ParseSecurityAccessSeed checks 67 <level> <seed> and returns the seed; an all-zero seed
// means the level is already unlocked.
func ParseSecurityAccessSeed(resp []byte, level byte) ([]byte, error) {
	return checkPositive(resp, SIDSecurityAccess, level)
}

// ParseSecurityAccessKey checks 67 <level>, the confirmation that the key unlocked the ECU.
func ParseSecurityAccessKey(resp []byte, level byte) error {
	rest, err := checkPositive(resp, SIDSecurityAccess, level)
	if err != nil {
		return err
	}
	return checkEnd(rest, resp, SIDSecurityAccess)
}
