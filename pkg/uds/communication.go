package uds

import (
	"fmt"
	"strconv"
	"strings"
)

// SIDCommunicationControl switches an ECU's normal and network management messages on or
// off, so a flash runs without the rest of the bus traffic.
const SIDCommunicationControl SID = 0x28

// CommunicationControlType is the 28 sub-function: which directions to enable.
type CommunicationControlType byte

// Control types of ISO 14229-1.
const (
	// CommunicationEnableRxAndTx is normal operation.
	CommunicationEnableRxAndTx CommunicationControlType = 0x00
	// CommunicationEnableRxDisableTx keeps receiving and stops sending.
	CommunicationEnableRxDisableTx CommunicationControlType = 0x01
	// CommunicationDisableRxEnableTx stops receiving and keeps sending.
	CommunicationDisableRxEnableTx CommunicationControlType = 0x02
	// CommunicationDisableRxAndTx stops both, the usual choice before a flash.
	CommunicationDisableRxAndTx CommunicationControlType = 0x03
	// CommunicationEnableRxDisableTxEnhanced is 0x01 for the node named by NodeID.
	CommunicationEnableRxDisableTxEnhanced CommunicationControlType = 0x04
	// CommunicationEnableRxAndTxEnhanced is 0x00 for the node named by NodeID.
	CommunicationEnableRxAndTxEnhanced CommunicationControlType = 0x05
)

// Communication types: the message groups a 28 request applies to (low bits of its
// communicationType byte; the high nibble selects a subnet, 0 for all).
const (
	// CommunicationNormal is application messages.
	CommunicationNormal byte = 0x01
	// CommunicationNetworkManagement is network management messages.
	CommunicationNetworkManagement byte = 0x02
	// CommunicationNormalAndNetworkManagement is both.
	CommunicationNormalAndNetworkManagement byte = 0x03
)

var communicationControlNames = namedSet{
	{"enableRxAndTx", byte(CommunicationEnableRxAndTx)},
	{"enableRxAndDisableTx", byte(CommunicationEnableRxDisableTx)},
	{"disableRxAndEnableTx", byte(CommunicationDisableRxEnableTx)},
	{"disableRxAndTx", byte(CommunicationDisableRxAndTx)},
	{"enableRxAndDisableTxWithEnhancedAddressInformation", byte(CommunicationEnableRxDisableTxEnhanced)},
	{"enableRxAndTxWithEnhancedAddressInformation", byte(CommunicationEnableRxAndTxEnhanced)},
}

// ParseCommunicationControlType reads a control type as job specs write it: its ISO name
// (enableRxAndTx, disableRxAndTx, ...) or a number 0..0x7F.
func ParseCommunicationControlType(s string) (CommunicationControlType, error) {
	if v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 8); err == nil && v == 0 {
		return CommunicationEnableRxAndTx, nil
	}
	v, err := communicationControlNames.parse("communication control type", s, 0x7F)
	return CommunicationControlType(v), err
}

// String names the control type for tables and logs.
func (t CommunicationControlType) String() string { return communicationControlNames.name(byte(t)) }

// hasNodeID reports whether the control type carries a nodeIdentificationNumber.
func (t CommunicationControlType) hasNodeID() bool {
	return t == CommunicationEnableRxDisableTxEnhanced || t == CommunicationEnableRxAndTxEnhanced
}

// CommunicationControl is the 28 request.
type CommunicationControl struct {
	// ControlType says which directions to enable (0x00..0x7F).
	ControlType CommunicationControlType
	// CommunicationType says which messages (CommunicationNormal, ...), with a subnet number
	// in the high nibble.
	CommunicationType byte
	// NodeID is the nodeIdentificationNumber, sent only with the two enhanced control types.
	NodeID uint16
	// Suppress sets the suppress-positive-response bit: the ECU answers only on failure.
	Suppress bool
}

// MarshalBinary builds 28 <controlType> <communicationType> [nodeID (2)].
func (c *CommunicationControl) MarshalBinary() ([]byte, error) {
	if c.ControlType > 0x7F {
		return nil, &ArgumentError{Name: fmt.Sprintf("communication control type 0x%02X", byte(c.ControlType)),
			Reason: "must be 0x00..0x7F; the top bit is the suppress-positive-response flag (set Suppress)"}
	}
	sub := byte(c.ControlType)
	if c.Suppress {
		sub |= SuppressPositiveResponse
	}
	b := []byte{byte(SIDCommunicationControl), sub, c.CommunicationType}
	if c.ControlType.hasNodeID() {
		b = append(b, byte(c.NodeID>>8), byte(c.NodeID))
	}
	return b, nil
}

// UnmarshalBinary decodes a 28 request, as a simulated ECU receives it.
func (c *CommunicationControl) UnmarshalBinary(req []byte) error {
	if len(req) < 3 || SID(req[0]) != SIDCommunicationControl {
		return &RequestError{SID: SIDCommunicationControl, Reason: "want 0x28 <controlType> <communicationType> [nodeIdentificationNumber]"}
	}
	t := CommunicationControlType(req[1] &^ SuppressPositiveResponse)
	want := 3
	if t.hasNodeID() {
		want = 5
	}
	if len(req) != want {
		return &RequestError{SID: SIDCommunicationControl, Reason: fmt.Sprintf("control type 0x%02X takes %d bytes, got %d", byte(t), want, len(req))}
	}
	*c = CommunicationControl{ControlType: t, CommunicationType: req[2], Suppress: req[1]&SuppressPositiveResponse != 0}
	if t.hasNodeID() {
		c.NodeID = uint16(req[3])<<8 | uint16(req[4])
	}
	return nil
}

// CommunicationControlResponse is the 68 answer echoing the control type.
type CommunicationControlResponse struct {
	// ControlType echoes the request's control type.
	ControlType CommunicationControlType
}

// MarshalBinary builds 68 <controlType>.
func (c *CommunicationControlResponse) MarshalBinary() ([]byte, error) {
	return []byte{byte(SIDCommunicationControl) + PositiveResponseOffset, byte(c.ControlType)}, nil
}

// UnmarshalBinary decodes 68 <controlType>; a 7F answer comes back as
// *NegativeResponseError.
func (c *CommunicationControlResponse) UnmarshalBinary(resp []byte) error {
	rest, err := checkPositive(resp, SIDCommunicationControl)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return &ResponseError{SID: SIDCommunicationControl, Response: resp, Reason: "want exactly the echoed control type"}
	}
	c.ControlType = CommunicationControlType(rest[0])
	return nil
}

// ParseCommunicationControl checks that resp is the positive answer to a 28 with control
// type t.
func ParseCommunicationControl(resp []byte, t CommunicationControlType) error {
	var c CommunicationControlResponse
	if err := c.UnmarshalBinary(resp); err != nil {
		return err
	}
	if c.ControlType != t {
		return &ResponseError{SID: SIDCommunicationControl, Response: resp,
			Reason: fmt.Sprintf("echoes control type 0x%02X, want 0x%02X", byte(c.ControlType), byte(t))}
	}
	return nil
}
