package doip

import "fmt"

// VINText is the one spelling of an announced VIN for people (ECU status, CLI, logs). Entities
// that do not know their VIN send zeros or 0xFF (ISO 13400-2), which become an empty string
// rather than control characters; a VIN that is not printable ASCII is shown as hex bytes.
func VINText(vin [17]byte) string {
	n := len(vin)
	for n > 0 && (vin[n-1] == 0x00 || vin[n-1] == 0xFF || vin[n-1] == ' ') {
		n--
	}
	for _, c := range vin[:n] {
		if c < 0x20 || c > 0x7E {
			return fmt.Sprintf("% X", vin[:])
		}
	}
	return string(vin[:n])
}

// HardwareAddressText is the one spelling of an EID or GID for people: "00:1A:2B:3C:4D:5E",
// the way MAC addresses are written.
func HardwareAddressText(b [6]byte) string {
	return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2], b[3], b[4], b[5])
}
