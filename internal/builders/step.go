package builders

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// StepWrapper builds one step; the constructors below set its single action.
type StepWrapper struct{ diagv1.Step }

// Obj returns the step.
func (w *StepWrapper) Obj() *diagv1.Step { return &w.Step }

// Timeout sets the step timeout.
func (w *StepWrapper) Timeout(d time.Duration) *StepWrapper {
	w.Step.Timeout = &metav1.Duration{Duration: d}
	return w
}

// ContinueOnFailure lets the following steps run when this one fails.
func (w *StepWrapper) ContinueOnFailure() *StepWrapper {
	w.Step.ContinueOnFailure = true
	return w
}

// ExpectPositive requires a positive response.
func (w *StepWrapper) ExpectPositive() *StepWrapper {
	w.expect().Positive = ptr(true)
	return w
}

// ExpectNegative requires a negative response.
func (w *StepWrapper) ExpectNegative() *StepWrapper {
	w.expect().Positive = ptr(false)
	return w
}

// ExpectResponse requires the whole response to equal these bytes.
func (w *StepWrapper) ExpectResponse(hex diagv1.HexBytes) *StepWrapper {
	w.expect().Response = hex
	return w
}

// ExpectResponsePrefix requires the response to start with these bytes.
func (w *StepWrapper) ExpectResponsePrefix(hex diagv1.HexBytes) *StepWrapper {
	w.expect().ResponsePrefix = hex
	return w
}

// ExpectNRC requires the negative response code nrc.
func (w *StepWrapper) ExpectNRC(nrc int32) *StepWrapper {
	w.expect().NRC = ptr(nrc)
	return w
}

// ExpectValue requires the decoded value to equal value.
func (w *StepWrapper) ExpectValue(value string) *StepWrapper {
	w.expect().Value = ptr(value)
	return w
}

func (w *StepWrapper) expect() *diagv1.Expectation {
	if w.Expect == nil {
		w.Expect = &diagv1.Expectation{}
	}
	return w.Expect
}

func ptr[T any](v T) *T { return &v }

// EntityStatus is a DoIP entity status step.
func EntityStatus(name string) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, EntityStatus: &diagv1.EntityStatusAction{}}}
}

// AliveCheck is a DoIP alive check step.
func AliveCheck(name string) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, AliveCheck: &diagv1.AliveCheckAction{}}}
}

// PowerMode is a DoIP diagnostic power mode step.
func PowerMode(name string) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, PowerMode: &diagv1.PowerModeAction{}}}
}

// VehicleIdentification is a DoIP vehicle identification step for every entity.
func VehicleIdentification(name string) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, VehicleIdentification: &diagv1.VehicleIdentificationAction{}}}
}

// VehicleIdentificationByVIN is a DoIP vehicle identification step for one VIN.
func VehicleIdentificationByVIN(name, vin string) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, VehicleIdentification: &diagv1.VehicleIdentificationAction{VIN: vin}}}
}

// VehicleIdentificationByEID is a DoIP vehicle identification step for one EID.
func VehicleIdentificationByEID(name string, eid diagv1.HexBytes) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, VehicleIdentification: &diagv1.VehicleIdentificationAction{EID: eid}}}
}

// RoutingActivation is a routing activation step ("" oemData for none).
func RoutingActivation(name string, activationType int32, oemData diagv1.HexBytes) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, RoutingActivation: &diagv1.RoutingActivationAction{Type: activationType, OEMData: oemData}}}
}

// Diagnostic is a raw UDS step to the ECU's logical address, e.g. Diagnostic("raw", "22 F1 90").
func Diagnostic(name string, request diagv1.HexBytes) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, Diagnostic: &diagv1.DiagnosticAction{Request: request}}}
}

// DiagnosticTo is a raw UDS step to another target address, e.g. an ECU behind a gateway.
func DiagnosticTo(name string, request diagv1.HexBytes, targetAddress int32) *StepWrapper {
	s := Diagnostic(name, request)
	s.Diagnostic.TargetAddress = ptr(targetAddress)
	return s
}

// Reconnect is a step that closes the connection, waits closeDelay (0: none) and dials again.
func Reconnect(name string, closeDelay time.Duration) *StepWrapper {
	a := &diagv1.ReconnectAction{}
	if closeDelay > 0 {
		a.CloseDelay = &metav1.Duration{Duration: closeDelay}
	}
	return &StepWrapper{diagv1.Step{Name: name, Reconnect: a}}
}

// Delay is a step that waits d.
func Delay(name string, d time.Duration) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, Delay: &diagv1.DelayAction{Duration: metav1.Duration{Duration: d}}}}
}

// uds wraps one UDS service into a step, shared by the UDS constructors.
func uds(name string, action diagv1.UDSAction) *StepWrapper {
	return &StepWrapper{diagv1.Step{Name: name, UDS: &action}}
}

// ReadDID reads a data identifier, e.g. ReadDID("vin", 0xF190).
func ReadDID(name string, did int32) *StepWrapper {
	return uds(name, diagv1.UDSAction{ReadDataByIdentifier: &diagv1.DIDRef{DID: did}})
}

// WriteDID writes data into a data identifier.
func WriteDID(name string, did int32, data diagv1.HexBytes) *StepWrapper {
	return uds(name, diagv1.UDSAction{WriteDataByIdentifier: &diagv1.WriteDID{DID: did, Data: data}})
}

// SessionControl enters a session: default, programming, extended, safety or a number.
func SessionControl(name, session string) *StepWrapper {
	return uds(name, diagv1.UDSAction{SessionControl: &diagv1.SessionControl{Session: session}})
}

// ECUReset resets the ECU.
func ECUReset(name string, resetType diagv1.ECUResetType) *StepWrapper {
	return uds(name, diagv1.UDSAction{ECUReset: &diagv1.ECUReset{Type: resetType}})
}

// TesterPresent sends 3E 00.
func TesterPresent(name string) *StepWrapper {
	return uds(name, diagv1.UDSAction{TesterPresent: &diagv1.TesterPresent{}})
}

// ReadDTCs lists the DTCs matching statusMask (19 02).
func ReadDTCs(name string, statusMask int32) *StepWrapper {
	return uds(name, diagv1.UDSAction{ReadDTCInformation: &diagv1.ReadDTCInformation{StatusMask: statusMask, SubFunction: 2}})
}

// CountDTCs counts the DTCs matching statusMask (19 01).
func CountDTCs(name string, statusMask int32) *StepWrapper {
	return uds(name, diagv1.UDSAction{ReadDTCInformation: &diagv1.ReadDTCInformation{StatusMask: statusMask, SubFunction: 1}})
}

// ClearDTCs clears a DTC group (0xFFFFFF: all).
func ClearDTCs(name string, group int32) *StepWrapper {
	return uds(name, diagv1.UDSAction{ClearDiagnosticInformation: &diagv1.ClearDiagnosticInformation{Group: group}})
}

// SecurityAccess requests the seed of an odd level and sends key unless it is "".
func SecurityAccess(name string, level int32, key diagv1.HexBytes) *StepWrapper {
	return uds(name, diagv1.UDSAction{SecurityAccess: &diagv1.SecurityAccess{Level: level, Key: key}})
}

// RoutineControl starts, stops or asks the results of routine id, with option bytes ("" for none).
func RoutineControl(name string, routineType diagv1.RoutineControlType, id int32, data diagv1.HexBytes) *StepWrapper {
	return uds(name, diagv1.UDSAction{RoutineControl: &diagv1.RoutineControl{Type: routineType, ID: id, Data: data}})
}

// CommunicationControl switches the ECU's message directions (controlType by ISO name or
// number) for communicationType (0 leaves the default, 1).
func CommunicationControl(name, controlType string, communicationType int32) *StepWrapper {
	return uds(name, diagv1.UDSAction{CommunicationControl: &diagv1.CommunicationControl{
		ControlType: controlType, CommunicationType: communicationType}})
}

// ControlDTCSetting stops (off) or resumes (on) DTC recording.
func ControlDTCSetting(name string, setting diagv1.DTCSettingType) *StepWrapper {
	return uds(name, diagv1.UDSAction{ControlDTCSetting: &diagv1.ControlDTCSetting{Type: setting}})
}
