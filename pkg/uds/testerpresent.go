package uds

// TesterPresent builds 3E 00, or 3E 80 when suppress is set: the keep-alive that holds a
// non-default session open without the ECU answering each time.
func TesterPresent(suppress bool) []byte {
	if suppress {
		return []byte{byte(SIDTesterPresent), SuppressPositiveResponse}
	}
	return []byte{byte(SIDTesterPresent), 0x00}
}

// ParseTesterPresent checks 7E 00.
func ParseTesterPresent(resp []byte) error {
	rest, err := checkPositive(resp, SIDTesterPresent, 0x00)
	if err != nil {
		return err
	}
	return checkEnd(rest, resp, SIDTesterPresent)
}
