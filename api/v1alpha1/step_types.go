package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Step is one action of a job and what its answer must look like; steps run in order on one connection.
// +kubebuilder:validation:XValidation:rule="(has(self.entityStatus) ? 1 : 0) + (has(self.aliveCheck) ? 1 : 0) + (has(self.powerMode) ? 1 : 0) + (has(self.vehicleIdentification) ? 1 : 0) + (has(self.routingActivation) ? 1 : 0) + (has(self.diagnostic) ? 1 : 0) + (has(self.uds) ? 1 : 0) + (has(self.reconnect) ? 1 : 0) + (has(self.delay) ? 1 : 0) + (has(self.download) ? 1 : 0) == 1",message="exactly one action must be set: entityStatus, aliveCheck, powerMode, vehicleIdentification, routingActivation, diagnostic, uds, reconnect, delay or download"
type Step struct {
	// name identifies the step in status.steps; unique within the job.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$`
	Name string `json:"name"`

	// timeout bounds the step (e.g. "5s"); unset: the agent's default, within the job deadline.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(h|m|s|ms|us|µs|ns)){1,4}$`
	// +kubebuilder:validation:XValidation:rule="self.matches('[1-9]')",message="timeout must be longer than zero, e.g. \"5s\""
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// continueOnFailure runs the following steps even when this one fails (the job still fails).
	// +optional
	ContinueOnFailure bool `json:"continueOnFailure,omitempty"`

	// expect is what the answer must look like; unset: a positive answer passes.
	// +optional
	Expect *Expectation `json:"expect,omitempty"`

	// entityStatus sends a DoIP entity status request (UDP).
	// +optional
	EntityStatus *EntityStatusAction `json:"entityStatus,omitempty"`

	// aliveCheck sends a DoIP alive check request on the job's connection.
	// +optional
	AliveCheck *AliveCheckAction `json:"aliveCheck,omitempty"`

	// powerMode sends a DoIP diagnostic power mode request (UDP).
	// +optional
	PowerMode *PowerModeAction `json:"powerMode,omitempty"`

	// vehicleIdentification sends a DoIP vehicle identification request (UDP), optionally by VIN or EID.
	// +optional
	VehicleIdentification *VehicleIdentificationAction `json:"vehicleIdentification,omitempty"`

	// routingActivation sends a routing activation request on the job's connection.
	// +optional
	RoutingActivation *RoutingActivationAction `json:"routingActivation,omitempty"`

	// diagnostic sends raw UDS bytes in a DoIP diagnostic message.
	// +optional
	Diagnostic *DiagnosticAction `json:"diagnostic,omitempty"`

	// uds sends one UDS service described by its parameters.
	// +optional
	UDS *UDSAction `json:"uds,omitempty"`

	// reconnect closes the job's connection and dials again, e.g. after an ECU reset.
	// +optional
	Reconnect *ReconnectAction `json:"reconnect,omitempty"`

	// delay waits, e.g. for an ECU to boot.
	// +optional
	Delay *DelayAction `json:"delay,omitempty"`

	// download flashes an image with RequestDownload, TransferData and RequestTransferExit.
	// +optional
	Download *DownloadAction `json:"download,omitempty"`
}

// EntityStatusAction asks the entity for its node type and socket use; it has no parameters.
type EntityStatusAction struct{}

// AliveCheckAction checks that the entity still serves the connection; it has no parameters.
type AliveCheckAction struct{}

// PowerModeAction asks whether the ECU is ready for diagnostics; it has no parameters.
type PowerModeAction struct{}

// VehicleIdentificationAction asks entities (all, or the one with a VIN or EID) to identify themselves.
// +kubebuilder:validation:XValidation:rule="!has(self.vin) || !has(self.eid)",message="set at most one of vin or eid: a vehicle identification request carries one of them"
type VehicleIdentificationAction struct {
	// vin restricts the request to the vehicle with this 17-character VIN.
	// +kubebuilder:validation:MaxLength=17
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9A-Za-z]{17}$')",message="vin must be exactly 17 letters or digits"
	// +optional
	VIN string `json:"vin,omitempty"`

	// eid restricts the request to the entity with this 6-byte EID (e.g. "00 1A 2B 3C 4D 5E").
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^\s*([0-9A-Fa-f]{2}\s*){6}$')`,message="eid must be exactly 6 bytes, e.g. \"00 1A 2B 3C 4D 5E\""
	// +optional
	EID HexBytes `json:"eid,omitempty"`
}

// RoutingActivationAction sends one more routing activation, to test an entity's answer codes.
type RoutingActivationAction struct {
	// type is the activation type (0 default, 1 WWH-OBD, 0xE0 central security).
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +optional
	Type int32 `json:"type,omitempty"`

	// oemData is the optional OEM-specific field of the request: exactly 4 bytes.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^\s*([0-9A-Fa-f]{2}\s*){4}$')`,message="oemData must be exactly 4 bytes, e.g. \"00 00 00 00\""
	// +optional
	OEMData HexBytes `json:"oemData,omitempty"`
}

// DiagnosticAction sends UDS bytes as written, for services without a typed action.
type DiagnosticAction struct {
	// request is the UDS request, e.g. "22 F1 90"; at most 12288 characters (4096 bytes with spaces).
	// +kubebuilder:validation:MaxLength=12288
	// +kubebuilder:validation:XValidation:rule="size(self.trim()) > 0",message="request must hold at least one byte, e.g. \"22 F1 90\""
	Request HexBytes `json:"request"`

	// targetAddress is the DoIP target address; unset: the ECU's logical address.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	TargetAddress *int32 `json:"targetAddress,omitempty"`
}

// ReconnectAction re-dials and re-activates routing, as a tester does after an ECU reset.
type ReconnectAction struct {
	// closeDelay is how long to wait between closing and dialing again; unset: no wait.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(h|m|s|ms|us|µs|ns)){1,4}$`
	// +optional
	CloseDelay *metav1.Duration `json:"closeDelay,omitempty"`
}

// DelayAction pauses the job, e.g. while an ECU boots; the connection stays open.
type DelayAction struct {
	// duration is how long to wait, e.g. "500ms".
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(\.[0-9]{1,9})?(h|m|s|ms|us|µs|ns)){1,4}$`
	Duration metav1.Duration `json:"duration"`
}

// UDSAction is one UDS service with typed parameters, so jobs read as intent rather than bytes.
// +kubebuilder:validation:XValidation:rule="(has(self.readDataByIdentifier) ? 1 : 0) + (has(self.writeDataByIdentifier) ? 1 : 0) + (has(self.sessionControl) ? 1 : 0) + (has(self.ecuReset) ? 1 : 0) + (has(self.testerPresent) ? 1 : 0) + (has(self.readDTCInformation) ? 1 : 0) + (has(self.clearDiagnosticInformation) ? 1 : 0) + (has(self.securityAccess) ? 1 : 0) + (has(self.routineControl) ? 1 : 0) + (has(self.communicationControl) ? 1 : 0) + (has(self.controlDTCSetting) ? 1 : 0) == 1",message="exactly one UDS service must be set: readDataByIdentifier, writeDataByIdentifier, sessionControl, ecuReset, testerPresent, readDTCInformation, clearDiagnosticInformation, securityAccess, routineControl, communicationControl or controlDTCSetting"
type UDSAction struct {
	// readDataByIdentifier reads a DID (service 0x22).
	// +optional
	ReadDataByIdentifier *DIDRef `json:"readDataByIdentifier,omitempty"`

	// writeDataByIdentifier writes a DID (service 0x2E).
	// +optional
	WriteDataByIdentifier *WriteDID `json:"writeDataByIdentifier,omitempty"`

	// sessionControl switches the diagnostic session (service 0x10).
	// +optional
	SessionControl *SessionControl `json:"sessionControl,omitempty"`

	// ecuReset resets the ECU (service 0x11); the ECU then drops its connections.
	// +optional
	ECUReset *ECUReset `json:"ecuReset,omitempty"`

	// testerPresent keeps a non-default session open (service 0x3E).
	// +optional
	TesterPresent *TesterPresent `json:"testerPresent,omitempty"`

	// readDTCInformation reads the DTC count or list (service 0x19).
	// +optional
	ReadDTCInformation *ReadDTCInformation `json:"readDTCInformation,omitempty"`

	// clearDiagnosticInformation clears DTCs (service 0x14).
	// +optional
	ClearDiagnosticInformation *ClearDiagnosticInformation `json:"clearDiagnosticInformation,omitempty"`

	// securityAccess requests a seed and, with a key, unlocks a level (service 0x27).
	// +optional
	SecurityAccess *SecurityAccess `json:"securityAccess,omitempty"`

	// routineControl starts, stops or asks the results of a routine (service 0x31).
	// +optional
	RoutineControl *RoutineControl `json:"routineControl,omitempty"`

	// communicationControl switches the ECU's normal messages on or off, e.g. before flashing
	// (service 0x28).
	// +optional
	CommunicationControl *CommunicationControl `json:"communicationControl,omitempty"`

	// controlDTCSetting stops or resumes DTC recording, e.g. while flashing (service 0x85).
	// +optional
	ControlDTCSetting *ControlDTCSetting `json:"controlDTCSetting,omitempty"`
}

// DIDRef names the data identifier to read.
type DIDRef struct {
	// did is the data identifier, e.g. 0xF190 (VIN).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	DID int32 `json:"did"`
}

// WriteDID is a data identifier with the bytes to write into it.
type WriteDID struct {
	// did is the data identifier.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	DID int32 `json:"did"`

	// data is the value to write; at least one byte.
	// +kubebuilder:validation:MaxLength=12288
	// +kubebuilder:validation:XValidation:rule="size(self.trim()) > 0",message="data must hold at least one byte, e.g. \"01 02\""
	Data HexBytes `json:"data"`
}

// SessionControl names the diagnostic session to enter.
type SessionControl struct {
	// session is default, programming, extended, safety, or a session number 1..127 written in
	// decimal or as 0x hex.
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^(default|programming|extended|safety|[1-9]|[1-9][0-9]|1[01][0-9]|12[0-7]|0[xX]0?[1-9A-Fa-f]|0[xX][1-7][0-9A-Fa-f])$')",message="session must be default, programming, extended, safety or a session number 1..127 (decimal or 0x hex)"
	Session string `json:"session"`
}

// ECUResetType is the kind of reset to request.
// +kubebuilder:validation:Enum=hard;keyOffOn;soft
type ECUResetType string

const (
	// ECUResetHard requests a hard reset (sub-function 0x01).
	ECUResetHard ECUResetType = "hard"
	// ECUResetKeyOffOn requests a key off/on reset (sub-function 0x02).
	ECUResetKeyOffOn ECUResetType = "keyOffOn"
	// ECUResetSoft requests a soft reset (sub-function 0x03).
	ECUResetSoft ECUResetType = "soft"
)

// ECUReset names the reset to request.
type ECUReset struct {
	// type is hard, keyOffOn or soft.
	// +kubebuilder:default=hard
	// +optional
	Type ECUResetType `json:"type,omitempty"`
}

// TesterPresent has no parameters: the agent sends 3E 00.
type TesterPresent struct{}

// ReadDTCInformation selects the DTC report to read.
type ReadDTCInformation struct {
	// statusMask selects DTCs by status bits; left out: 0xFF (all). Not omitempty in Go, so that
	// an explicit 0 survives an update instead of turning into the default.
	// +kubebuilder:default=255
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +optional
	StatusMask int32 `json:"statusMask"`

	// subFunction is 1 (reportNumberOfDTCByStatusMask) or 2 (reportDTCByStatusMask).
	// +kubebuilder:default=2
	// +kubebuilder:validation:Enum=1;2
	// +optional
	SubFunction int32 `json:"subFunction,omitempty"`
}

// ClearDiagnosticInformation selects the DTC group to clear.
type ClearDiagnosticInformation struct {
	// group is the 3-byte group of DTCs; left out: 0xFFFFFF (all). Not omitempty in Go, so that
	// group 0 never turns into "clear all" on an update.
	// +kubebuilder:default=16777215
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=16777215
	// +optional
	Group int32 `json:"group"`
}

// SecurityAccess is one security level to unlock, with the key when it is known in advance.
type SecurityAccess struct {
	// level is the odd requestSeed sub-function (1, 3, ... 0x7F); the key is sent with level+1.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=127
	// +kubebuilder:validation:XValidation:rule="self % 2 == 1",message="level must be odd: it is the requestSeed sub-function (the key goes with level+1)"
	Level int32 `json:"level"`

	// key is sent after the seed; unset: the agent only requests the seed.
	// +kubebuilder:validation:MaxLength=12288
	// +optional
	Key HexBytes `json:"key,omitempty"`
}

// RoutineControlType is the routine control sub-function.
// +kubebuilder:validation:Enum=start;stop;results
type RoutineControlType string

const (
	// RoutineStart starts a routine (sub-function 0x01).
	RoutineStart RoutineControlType = "start"
	// RoutineStop stops a routine (sub-function 0x02).
	RoutineStop RoutineControlType = "stop"
	// RoutineResults requests a routine's results (sub-function 0x03).
	RoutineResults RoutineControlType = "results"
)

// RoutineControl names the routine, what to do with it and its option bytes.
type RoutineControl struct {
	// type is start, stop or results.
	Type RoutineControlType `json:"type"`

	// id is the routine identifier.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	ID int32 `json:"id"`

	// data is the routine control option record, if the routine takes one.
	// +kubebuilder:validation:MaxLength=12288
	// +optional
	Data HexBytes `json:"data,omitempty"`
}

// Expectation is what a step's answer must look like for the step to pass.
// +kubebuilder:validation:XValidation:rule="!has(self.nrc) || !has(self.positive) || !self.positive",message="expect.nrc expects a negative response: positive must not be true"
type Expectation struct {
	// positive requires a positive (true) or negative (false) UDS response.
	// +optional
	Positive *bool `json:"positive,omitempty"`

	// response must equal the whole response.
	// +kubebuilder:validation:MaxLength=12288
	// +optional
	Response HexBytes `json:"response,omitempty"`

	// responsePrefix must begin the response.
	// +kubebuilder:validation:MaxLength=12288
	// +optional
	ResponsePrefix HexBytes `json:"responsePrefix,omitempty"`

	// nrc requires the negative response 7F <service> <nrc>, e.g. 0x31 (requestOutOfRange).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +optional
	NRC *int32 `json:"nrc,omitempty"`

	// value must equal the decoded value (VIN, ASCII DID text, DTC list).
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Value *string `json:"value,omitempty"`
}

// CommunicationControl names which of the ECU's message directions to switch (service 0x28).
type CommunicationControl struct {
	// controlType is enableRxAndTx, enableRxAndDisableTx, disableRxAndEnableTx, disableRxAndTx,
	// or a sub-function number in decimal (4 and 5 need a node identification number: send
	// them with a diagnostic step).
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^(enableRxAndTx|enableRxAndDisableTx|disableRxAndEnableTx|disableRxAndTx|[0-3]|[6-9]|[1-9][0-9]|1[01][0-9]|12[0-7])$')",message="controlType must be enableRxAndTx, enableRxAndDisableTx, disableRxAndEnableTx, disableRxAndTx or a number 0..127 other than 4 and 5"
	ControlType string `json:"controlType"`

	// communicationType is the messages it applies to: 1 normal (the default), 2 network
	// management, 3 both; the high nibble selects a subnet.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=255
	// +optional
	CommunicationType int32 `json:"communicationType,omitempty"`
}

// DTCSettingType stops (off) or resumes (on) DTC recording.
// +kubebuilder:validation:Enum=on;off
type DTCSettingType string

const (
	// DTCSettingOn resumes DTC recording (sub-function 0x01).
	DTCSettingOn DTCSettingType = "on"
	// DTCSettingOff stops DTC recording (sub-function 0x02).
	DTCSettingOff DTCSettingType = "off"
)

// ControlDTCSetting says whether the ECU records DTCs (service 0x85).
type ControlDTCSetting struct {
	// type is on or off.
	Type DTCSettingType `json:"type"`
}
