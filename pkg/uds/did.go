package uds

import "encoding/binary"

// Data identifiers of ISO 14229-1 Annex C that ecufleet reads by name.
const (
	// DIDSparePartNumber is the vehicle manufacturer spare part number.
	DIDSparePartNumber uint16 = 0xF187
	// DIDSerialNumber is the ECU serial number.
	DIDSerialNumber uint16 = 0xF18C
	// DIDVIN is the vehicle identification number.
	DIDVIN uint16 = 0xF190
	// DIDSystemName is the system name or engine type.
	DIDSystemName uint16 = 0xF197
)

// ReadDataByIdentifier builds 22 <DID>.
func ReadDataByIdentifier(did uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{byte(SIDReadDataByIdentifier)}, did)
}

// ParseReadDataByIdentifier checks 62 <DID> <data> and returns the data (a slice of resp).
func ParseReadDataByIdentifier(resp []byte, did uint16) ([]byte, error) {
	return checkPositive(resp, SIDReadDataByIdentifier, byte(did>>8), byte(did))
}

// WriteDataByIdentifier builds 2E <DID> <data>.
func WriteDataByIdentifier(did uint16, data []byte) []byte {
	b := make([]byte, 0, 3+len(data))
	b = append(b, byte(SIDWriteDataByIdentifier), byte(did>>8), byte(did))
	return append(b, data...)
}

// ParseWriteDataByIdentifier checks 6E <DID>.
func ParseWriteDataByIdentifier(resp []byte, did uint16) error {
	rest, err := checkPositive(resp, SIDWriteDataByIdentifier, byte(did>>8), byte(did))
	if err != nil {
		return err
	}
	return checkEnd(rest, resp, SIDWriteDataByIdentifier)
}
