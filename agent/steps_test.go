package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

func TestUDSRequest(t *testing.T) {
	for _, tc := range []struct {
		action v1alpha1.UDSAction
		want   []byte
	}{
		{v1alpha1.UDSAction{ReadDataByIdentifier: &v1alpha1.DIDRef{DID: 0xF190}}, []byte{0x22, 0xF1, 0x90}},
		{v1alpha1.UDSAction{WriteDataByIdentifier: &v1alpha1.WriteDID{DID: 0xF198, Data: "01 02"}}, []byte{0x2E, 0xF1, 0x98, 0x01, 0x02}},
		{v1alpha1.UDSAction{SessionControl: &v1alpha1.SessionControl{Session: "extended"}}, []byte{0x10, 0x03}},
		{v1alpha1.UDSAction{SessionControl: &v1alpha1.SessionControl{Session: "0x40"}}, []byte{0x10, 0x40}},
		{v1alpha1.UDSAction{ECUReset: &v1alpha1.ECUReset{}}, []byte{0x11, 0x01}},
		{v1alpha1.UDSAction{ECUReset: &v1alpha1.ECUReset{Type: v1alpha1.ECUResetSoft}}, []byte{0x11, 0x03}},
		{v1alpha1.UDSAction{TesterPresent: &v1alpha1.TesterPresent{}}, []byte{0x3E, 0x00}},
		{v1alpha1.UDSAction{ReadDTCInformation: &v1alpha1.ReadDTCInformation{StatusMask: 0xFF, SubFunction: 2}}, []byte{0x19, 0x02, 0xFF}},
		{v1alpha1.UDSAction{ReadDTCInformation: &v1alpha1.ReadDTCInformation{StatusMask: 0x08, SubFunction: 1}}, []byte{0x19, 0x01, 0x08}},
		{v1alpha1.UDSAction{ClearDiagnosticInformation: &v1alpha1.ClearDiagnosticInformation{Group: 0xFFFFFF}}, []byte{0x14, 0xFF, 0xFF, 0xFF}},
		{v1alpha1.UDSAction{RoutineControl: &v1alpha1.RoutineControl{Type: v1alpha1.RoutineStart, ID: 0xFF01, Data: "AA"}}, []byte{0x31, 0x01, 0xFF, 0x01, 0xAA}},
		{v1alpha1.UDSAction{RoutineControl: &v1alpha1.RoutineControl{Type: v1alpha1.RoutineResults, ID: 0x0203}}, []byte{0x31, 0x03, 0x02, 0x03}},
		{v1alpha1.UDSAction{CommunicationControl: &v1alpha1.CommunicationControl{ControlType: "disableRxAndTx", CommunicationType: 3}}, []byte{0x28, 0x03, 0x03}},
		{v1alpha1.UDSAction{CommunicationControl: &v1alpha1.CommunicationControl{ControlType: "0"}}, []byte{0x28, 0x00, 0x01}},
		{v1alpha1.UDSAction{ControlDTCSetting: &v1alpha1.ControlDTCSetting{Type: v1alpha1.DTCSettingOff}}, []byte{0x85, 0x02}},
		{v1alpha1.UDSAction{ControlDTCSetting: &v1alpha1.ControlDTCSetting{Type: v1alpha1.DTCSettingOn}}, []byte{0x85, 0x01}},
	} {
		got, err := udsRequest(&tc.action)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%+v: got % X, %v; want % X", tc.action, got, err, tc.want)
		}
	}
	if _, err := udsRequest(&v1alpha1.UDSAction{}); err == nil {
		t.Error("an empty uds action was accepted")
	}
	if _, err := udsRequest(&v1alpha1.UDSAction{SessionControl: &v1alpha1.SessionControl{Session: "turbo"}}); err == nil {
		t.Error("an unknown session was accepted")
	}
	if _, err := udsRequest(&v1alpha1.UDSAction{CommunicationControl: &v1alpha1.CommunicationControl{ControlType: "muteAll"}}); err == nil ||
		!strings.Contains(err.Error(), "communicationControl.controlType") {
		t.Errorf("an unknown communication control type: got %v, want an error naming the field", err)
	}
}

func TestStepTimeout(t *testing.T) {
	d := func(v time.Duration) *metav1.Duration { return &metav1.Duration{Duration: v} }
	for _, tc := range []struct {
		step v1alpha1.Step
		want time.Duration
	}{
		{v1alpha1.Step{UDS: &v1alpha1.UDSAction{}}, defaultStepTimeout},
		{v1alpha1.Step{UDS: &v1alpha1.UDSAction{}, Timeout: d(time.Minute)}, time.Minute},
		{v1alpha1.Step{Delay: &v1alpha1.DelayAction{Duration: *d(time.Minute)}}, time.Minute + defaultStepTimeout},
		{v1alpha1.Step{Reconnect: &v1alpha1.ReconnectAction{CloseDelay: d(3 * time.Second)}}, 3*time.Second + defaultStepTimeout},
		{v1alpha1.Step{Delay: &v1alpha1.DelayAction{Duration: *d(time.Minute)}, Timeout: d(time.Second)}, time.Second},
		{v1alpha1.Step{Download: &v1alpha1.DownloadAction{}}, defaultDownloadTimeout},
	} {
		if got := stepTimeout(&tc.step); got != tc.want {
			t.Errorf("%+v: got %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestConnectionDropped(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("send: %w", fmt.Errorf("doip: connection lost: %w", io.EOF)), true},
		{fmt.Errorf("doip: write: %w", net.ErrClosed), true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("send: %w", doip.ErrClosed), false},
		{errors.New("no response within P2"), false},
		{&doip.ActivationError{Response: &doip.RoutingActivationResponse{Code: doip.ActivationSourceInUse}}, false},
	} {
		if got := connectionDropped(tc.err); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestDecoders(t *testing.T) {
	var vin [17]byte
	copy(vin[:], "WVWZZZ1JZXW000001")
	if got := vinText(vin); got != "WVWZZZ1JZXW000001" {
		t.Errorf("vin: %q", got)
	}
	if got := vinText([17]byte{}); got != "" {
		t.Errorf("unknown vin: %q", got)
	}
	vin[3] = 0x01
	if got := vinText(vin); got[:8] != "57 56 57" {
		t.Errorf("binary vin should be hex: %q", got)
	}
	if got := macText([6]byte{0, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E}); got != "00:1A:2B:3C:4D:5E" {
		t.Errorf("eid: %q", got)
	}
	info := entityInfo(&doip.EntityStatusResponse{NodeType: doip.NodeGateway, MaxSockets: 4, OpenSockets: 1, MaxDataSize: 4096, HasMaxDataSize: true})
	if info != (v1alpha1.EntityInfo{NodeType: "Gateway", MaxSockets: 4, OpenSockets: 1, MaxDataSize: 4096}) {
		t.Errorf("entity: %+v", info)
	}
	if got := powerModeName(doip.PowerModeNotSupported); got != "NotSupported" {
		t.Errorf("power mode: %q", got)
	}
}

func TestInterfaceBroadcast(t *testing.T) {
	ip, bcast, err := interfaceBroadcast("lo")
	if err != nil {
		t.Skipf("no loopback interface named lo: %v", err)
	}
	if !ip.Equal(net.IPv4(127, 0, 0, 1)) || !bcast.Equal(net.IPv4(127, 255, 255, 255)) {
		t.Fatalf("lo: got %v broadcast %v, want 127.0.0.1 broadcast 127.255.255.255", ip, bcast)
	}
	if _, _, err := interfaceBroadcast("no-such-if0"); err == nil {
		t.Fatal("a missing interface was accepted")
	}
}

func TestDiscoveredAgesOut(t *testing.T) {
	a := &reporter{opts: Options{DiscoverInterface: "eth9", DiscoverInterval: time.Second}, found: map[string]v1alpha1.DiscoveredEntity{}}
	old := metav1.NewTime(time.Now().Add(-10 * time.Second))
	a.seedDiscovered([]v1alpha1.DiscoveredEntity{
		{Address: "10.0.0.2", LogicalAddress: 0xE0, LastSeen: old},
		{Address: "10.0.0.3", LogicalAddress: 0xE0, LastSeen: metav1.Now()},
		{Address: "10.0.0.3", LogicalAddress: 0xE0, VIN: "NEWER", LastSeen: metav1.Now()},
		{Address: "10.0.0.10", LogicalAddress: 0x10, LastSeen: metav1.Now()},
	})
	got := a.discovered()
	if len(got) != 2 || got[0].Address != "10.0.0.10" || got[1].Address != "10.0.0.3" || got[1].VIN != "NEWER" {
		t.Fatalf("want the two fresh entities, deduplicated and sorted: %+v", got)
	}
	a.opts.DiscoverInterface = ""
	if got := a.discovered(); got != nil {
		t.Fatalf("without discovery the list is empty: %+v", got)
	}
}

func TestProgressOfShowsRunningDownload(t *testing.T) {
	steps := []v1alpha1.StepStatus{
		{Name: "session", Phase: v1alpha1.StepPassed},
		{Name: "unlock", Phase: v1alpha1.StepPassed},
		{Name: "flash", Phase: v1alpha1.StepRunning, Transfer: &v1alpha1.TransferStatus{Bytes: 450, TotalBytes: 1000}},
		{Name: "check", Phase: v1alpha1.StepPending},
	}
	if got := progressOf(steps); got != "2/4 flash 45%" {
		t.Errorf("running download: got %q, want %q", got, "2/4 flash 45%")
	}
	steps[2].Phase = v1alpha1.StepPassed
	if got := progressOf(steps); got != "3/4" {
		t.Errorf("finished download: got %q, want %q", got, "3/4")
	}
}
