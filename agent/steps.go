package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/ctxtime"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// reconnectedNote is kept in a step's message when the agent re-dialled before answering it.
const reconnectedNote = "reconnected: the ECU had dropped the connection"

// perform runs one step's action on the session and reports what came back.
func perform(ctx context.Context, s *session, step *v1alpha1.Step) stepAnswer {
	switch {
	case step.EntityStatus != nil:
		return s.entityStatus(ctx)
	case step.PowerMode != nil:
		return s.powerMode(ctx)
	case step.VehicleIdentification != nil:
		return s.vehicleIdentification(ctx, step.VehicleIdentification)
	case step.AliveCheck != nil:
		return s.aliveCheck(ctx)
	case step.RoutingActivation != nil:
		return s.routingActivation(ctx, step.RoutingActivation)
	case step.Diagnostic != nil:
		return s.diagnostic(ctx, step.Diagnostic)
	case step.UDS != nil:
		return s.udsStep(ctx, step.UDS)
	case step.Reconnect != nil:
		var delay time.Duration
		if step.Reconnect.CloseDelay != nil {
			delay = step.Reconnect.CloseDelay.Duration
		}
		return stepAnswer{err: s.reconnect(ctx, delay)}
	case step.Delay != nil:
		return stepAnswer{err: ctxtime.Sleep(ctx, step.Delay.Duration.Duration)}
	}
	return stepAnswer{err: errors.New("the step has no action: set exactly one of entityStatus, aliveCheck, powerMode, " +
		"vehicleIdentification, routingActivation, diagnostic, uds, download, reconnect or delay")}
}

// stepTimeout is how long a step may take when it sets no timeout: long enough for every
// protocol timer (A_DoIP_Ctrl, P2, a few P2* after response pending), plus the wait a delay or
// reconnect step asks for.
func stepTimeout(step *v1alpha1.Step) time.Duration {
	if step.Timeout != nil && step.Timeout.Duration > 0 {
		return step.Timeout.Duration
	}
	d := defaultStepTimeout
	switch {
	case step.Delay != nil:
		d += step.Delay.Duration.Duration
	case step.Reconnect != nil && step.Reconnect.CloseDelay != nil:
		d += step.Reconnect.CloseDelay.Duration
	case step.Download != nil:
		d = defaultDownloadTimeout
	}
	return d
}

// defaultStepTimeout bounds a step that sets no timeout.
const defaultStepTimeout = 10 * time.Second

// doipAnswer records a DoIP control exchange: the request and answer frames as they were on the
// wire. A refused UDP request is an unreachable ECU (the attempt ends EcuUnreachable).
func (s *session) doipAnswer(req, resp doip.Message, err error) stepAnswer {
	if errors.Is(err, syscall.ECONNREFUSED) {
		// Nothing listens at the entity's address any more (ICMP port unreachable): no verdict
		// of the ECU's, but an ECU gone, as when a dial is refused.
		err = &unreachableError{addr: s.ep.udpAddr, err: err}
	}
	o := stepAnswer{kind: answerDoIP, request: doip.Marshal(s.ep.client.ProtocolVersion, req), err: err}
	if resp != nil {
		o.response = doip.Marshal(s.ep.client.ProtocolVersion, resp)
	}
	return o
}

func (s *session) entityStatus(ctx context.Context) stepAnswer {
	resp, err := s.ep.client.EntityStatus(ctx, s.ep.udpAddr)
	if err != nil {
		return s.doipAnswer(&doip.EntityStatusRequest{}, nil, err)
	}
	o := s.doipAnswer(&doip.EntityStatusRequest{}, resp, nil)
	info := entityInfo(resp)
	o.value = fmt.Sprintf("nodeType=%s maxSockets=%d openSockets=%d", info.NodeType, info.MaxSockets, info.OpenSockets)
	if resp.HasMaxDataSize {
		o.value += fmt.Sprintf(" maxDataSize=%d", info.MaxDataSize)
	}
	return o
}

func (s *session) powerMode(ctx context.Context) stepAnswer {
	resp, err := s.ep.client.PowerMode(ctx, s.ep.udpAddr)
	if err != nil {
		return s.doipAnswer(&doip.PowerModeRequest{}, nil, err)
	}
	o := s.doipAnswer(&doip.PowerModeRequest{}, resp, nil)
	o.value = powerModeName(resp.Mode)
	return o
}

func (s *session) vehicleIdentification(ctx context.Context, a *v1alpha1.VehicleIdentificationAction) stepAnswer {
	var q doip.IdentifyQuery
	switch {
	case a.VIN != "":
		var vin [17]byte
		if len(a.VIN) != len(vin) {
			return stepAnswer{kind: answerDoIP, err: fmt.Errorf("vehicleIdentification.vin %q must be exactly 17 characters", a.VIN)}
		}
		copy(vin[:], a.VIN)
		q.VIN = &vin
	case a.EID != "":
		b, err := a.EID.Bytes()
		var eid [6]byte
		if err == nil && len(b) != len(eid) {
			err = fmt.Errorf("it holds %d bytes", len(b))
		}
		if err != nil {
			return stepAnswer{kind: answerDoIP, err: fmt.Errorf("vehicleIdentification.eid must be exactly 6 bytes: %w", err)}
		}
		copy(eid[:], b)
		q.EID = &eid
	}
	req := identifyRequest(q)
	resp, err := s.ep.client.Identify(ctx, s.ep.udpAddr, q)
	if err != nil {
		return s.doipAnswer(req, nil, err)
	}
	o := s.doipAnswer(req, resp, nil)
	o.value = vinText(resp.VIN)
	o.note = fmt.Sprintf("logical address 0x%04X, EID %s, GID %s", resp.LogicalAddress, macText(resp.EID), macText(resp.GID))
	return o
}

// identifyRequest is the message Identify sends for q, recorded as the step's request.
func identifyRequest(q doip.IdentifyQuery) doip.Message {
	switch {
	case q.VIN != nil:
		return &doip.VehicleIdentificationRequestVIN{VIN: *q.VIN}
	case q.EID != nil:
		return &doip.VehicleIdentificationRequestEID{EID: *q.EID}
	}
	return &doip.VehicleIdentificationRequest{}
}

func (s *session) aliveCheck(ctx context.Context) stepAnswer {
	var resp *doip.AliveCheckResponse
	reconnected, err := s.control(ctx, func(c *doip.Conn) (err error) {
		resp, err = c.AliveCheck(ctx)
		return err
	})
	var o stepAnswer
	if resp != nil {
		o = s.doipAnswer(&doip.AliveCheckRequest{}, resp, err)
		o.value = fmt.Sprintf("0x%04X", resp.SourceAddress)
	} else {
		o = s.doipAnswer(&doip.AliveCheckRequest{}, nil, err)
	}
	if reconnected {
		o.note = reconnectedNote
	}
	return o
}

func (s *session) routingActivation(ctx context.Context, a *v1alpha1.RoutingActivationAction) stepAnswer {
	var oem []byte
	if a.OEMData != "" {
		b, err := a.OEMData.Bytes()
		if err == nil && len(b) != 4 {
			err = fmt.Errorf("it holds %d bytes", len(b))
		}
		if err != nil {
			return stepAnswer{kind: answerDoIP, err: fmt.Errorf("routingActivation.oemData must be exactly 4 bytes: %w", err)}
		}
		oem = b
	}
	req := &doip.RoutingActivationRequest{SourceAddress: s.ep.client.TesterAddress, ActivationType: byte(a.Type), OEM: oem}
	var resp *doip.RoutingActivationResponse
	reconnected, err := s.control(ctx, func(c *doip.Conn) (err error) {
		resp, err = c.ActivateRouting(ctx, byte(a.Type), oem)
		return err
	})
	var denied *doip.ActivationError
	if errors.As(err, &denied) {
		err = nil // a denial is an answer: the expectation decides whether it was wanted
	}
	var o stepAnswer
	if resp != nil {
		o = s.doipAnswer(req, resp, err)
		o.value = resp.Code.String()
		o.negative = resp.Code != doip.ActivationSuccess && resp.Code != doip.ActivationConfirmationRequired
	} else {
		o = s.doipAnswer(req, nil, err)
	}
	if reconnected {
		o.note = reconnectedNote
	}
	return o
}

func (s *session) diagnostic(ctx context.Context, a *v1alpha1.DiagnosticAction) stepAnswer {
	req, err := a.Request.Bytes()
	if err == nil && len(req) == 0 {
		err = errors.New("it is empty")
	}
	if err != nil {
		return stepAnswer{kind: answerUDS, err: fmt.Errorf("diagnostic.request: %w", err)}
	}
	target := s.target
	if a.TargetAddress != nil {
		target = uint16(*a.TargetAddress)
	}
	return s.exchange(ctx, target, req)
}

// exchange sends one UDS request and records the answer with its decoded value.
func (s *session) exchange(ctx context.Context, target uint16, req []byte) stepAnswer {
	resp, reconnected, err := s.request(ctx, target, req)
	o := stepAnswer{kind: answerUDS, request: req, response: resp}
	if reconnected {
		o.note = reconnectedNote
	}
	var nre *uds.NegativeResponseError
	switch {
	case errors.As(err, &nre):
		nrc := byte(nre.NRC)
		o.negative, o.nrc, o.response = true, &nrc, nre.Response
	case err != nil:
		o.err = err
	case resp == nil:
		o.note = joinNotes("no response expected: the request suppresses the positive response", o.note)
	default:
		if cerr := uds.CheckResponse(req, resp); cerr != nil {
			o.err = cerr
		}
		o.value = uds.DecodeValue(req, resp)
	}
	return o
}

// udsStep builds the request of a typed UDS action and sends it to the ECU.
func (s *session) udsStep(ctx context.Context, a *v1alpha1.UDSAction) stepAnswer {
	if a.SecurityAccess != nil {
		return s.securityAccess(ctx, a.SecurityAccess)
	}
	req, err := udsRequest(a)
	if err != nil {
		return stepAnswer{kind: answerUDS, err: err}
	}
	return s.exchange(ctx, s.target, req)
}

// udsRequest encodes a typed UDS action (all but security access, which takes two requests).
func udsRequest(a *v1alpha1.UDSAction) ([]byte, error) {
	switch {
	case a.ReadDataByIdentifier != nil:
		return uds.ReadDataByIdentifier(uint16(a.ReadDataByIdentifier.DID)), nil
	case a.WriteDataByIdentifier != nil:
		data, err := a.WriteDataByIdentifier.Data.Bytes()
		if err != nil {
			return nil, fmt.Errorf("writeDataByIdentifier.data: %w", err)
		}
		return uds.WriteDataByIdentifier(uint16(a.WriteDataByIdentifier.DID), data), nil
	case a.SessionControl != nil:
		session, err := uds.ParseSession(a.SessionControl.Session)
		if err != nil {
			return nil, err
		}
		return uds.SessionControl(session), nil
	case a.ECUReset != nil:
		t, err := uds.ParseResetType(string(orDefault(a.ECUReset.Type, v1alpha1.ECUResetHard)))
		if err != nil {
			return nil, err
		}
		return uds.ECUReset(t), nil
	case a.TesterPresent != nil:
		return uds.TesterPresent(false), nil
	case a.ReadDTCInformation != nil:
		mask := byte(a.ReadDTCInformation.StatusMask)
		if a.ReadDTCInformation.SubFunction == int32(uds.ReportNumberOfDTCByStatusMask) {
			return uds.ReadDTCCount(mask), nil
		}
		return uds.ReadDTCByStatus(mask), nil
	case a.ClearDiagnosticInformation != nil:
		return uds.ClearDiagnosticInformation(uint32(a.ClearDiagnosticInformation.Group))
	case a.RoutineControl != nil:
		t, err := uds.ParseRoutineControlType(string(a.RoutineControl.Type))
		if err != nil {
			return nil, err
		}
		data, err := a.RoutineControl.Data.Bytes()
		if err != nil {
			return nil, fmt.Errorf("routineControl.data: %w", err)
		}
		return uds.RoutineControl(t, uint16(a.RoutineControl.ID), data), nil
	case a.CommunicationControl != nil:
		t, err := uds.ParseCommunicationControlType(a.CommunicationControl.ControlType)
		if err != nil {
			return nil, fmt.Errorf("communicationControl.controlType: %w", err)
		}
		cc := uds.CommunicationControl{ControlType: t,
			CommunicationType: byte(orDefault(a.CommunicationControl.CommunicationType, int32(uds.CommunicationNormal)))}
		return cc.MarshalBinary()
	case a.ControlDTCSetting != nil:
		t, err := uds.ParseDTCSettingType(string(a.ControlDTCSetting.Type))
		if err != nil {
			return nil, fmt.Errorf("controlDTCSetting.type: %w", err)
		}
		return (&uds.ControlDTCSetting{Type: t}).MarshalBinary()
	}
	return nil, errors.New("the uds action names no service: set exactly one of readDataByIdentifier, writeDataByIdentifier, " +
		"sessionControl, ecuReset, testerPresent, readDTCInformation, clearDiagnosticInformation, securityAccess, routineControl, " +
		"communicationControl or controlDTCSetting")
}

// securityAccess requests the seed and, when the step carries a key, sends it with level+1. The
// step records the last exchange; the seed is its value.
func (s *session) securityAccess(ctx context.Context, a *v1alpha1.SecurityAccess) stepAnswer {
	level := byte(a.Level)
	seedReq, err := uds.SecurityAccessSeed(level)
	if err != nil {
		return stepAnswer{kind: answerUDS, err: err}
	}
	key, err := a.Key.Bytes()
	if err != nil {
		return stepAnswer{kind: answerUDS, err: fmt.Errorf("securityAccess.key: %w", err)}
	}
	seedOut := s.exchange(ctx, s.target, seedReq)
	if seedOut.err != nil || seedOut.negative {
		return seedOut
	}
	seed, err := uds.ParseSecurityAccessSeed(seedOut.response, level)
	if err != nil {
		seedOut.err = err
		return seedOut
	}
	seedOut.value = uds.FormatHex(seed)
	if len(key) == 0 {
		return seedOut
	}
	keyReq, err := uds.SecurityAccessKey(level+1, key)
	if err != nil {
		return stepAnswer{kind: answerUDS, err: err}
	}
	keyOut := s.exchange(ctx, s.target, keyReq)
	keyOut.value = seedOut.value
	keyOut.note = joinNotes("seed "+seedOut.value, strings.TrimSpace(seedOut.note+" "+keyOut.note))
	return keyOut
}
