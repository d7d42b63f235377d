package agent

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

func TestKeepTrace(t *testing.T) {
	for _, tc := range []struct {
		mode  v1alpha1.TraceMode
		phase v1alpha1.JobPhase
		want  bool
	}{
		{v1alpha1.TraceAlways, v1alpha1.JobSucceeded, true},
		{v1alpha1.TraceAlways, v1alpha1.JobFailed, true},
		{v1alpha1.TraceAlways, "", true}, // suspended
		{v1alpha1.TraceOnFailure, v1alpha1.JobSucceeded, false},
		{v1alpha1.TraceOnFailure, v1alpha1.JobFailed, true},
		{v1alpha1.TraceOnFailure, "", false},
		{"", v1alpha1.JobFailed, true}, // stored before spec.trace existed: OnFailure
		{"", v1alpha1.JobSucceeded, false},
		{v1alpha1.TraceNever, v1alpha1.JobFailed, false},
	} {
		if got := keepTrace(tc.mode, tc.phase); got != tc.want {
			t.Errorf("keepTrace(%q, %q) = %v, want %v", tc.mode, tc.phase, got, tc.want)
		}
	}
}

// doipMessage is a DoIP message of version 2012 with the payload type and payload given.
func doipMessage(typ doip.PayloadType, payload ...byte) []byte {
	h := make([]byte, doip.HeaderLen, doip.HeaderLen+len(payload))
	h[0], h[1] = doip.Version2012, ^doip.Version2012
	binary.BigEndian.PutUint16(h[2:], uint16(typ))
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

func TestKeeperFrame(t *testing.T) {
	frame := doipMessage
	addrs := []byte{0x0E, 0x00, 0x00, 0xE0}
	for _, tc := range []struct {
		name string
		msg  []byte
		want bool
	}{
		{"keeper request", frame(doip.TypeDiagnosticMessage, append(addrs, 0x3E, 0x80)...), true},
		{"its ACK copying it", frame(doip.TypeDiagnosticACK, append(addrs, 0x00, 0x3E, 0x80)...), true},
		{"its NACK copying it", frame(doip.TypeDiagnosticNACK, append(addrs, 0x03, 0x3E, 0x80)...), true},
		{"an ACK without the copy", frame(doip.TypeDiagnosticACK, append(addrs, 0x00)...), false},
		{"tester present with a response", frame(doip.TypeDiagnosticMessage, append(addrs, 0x3E, 0x00)...), false},
		{"a longer request starting 3E 80", frame(doip.TypeDiagnosticMessage, append(addrs, 0x3E, 0x80, 0x00)...), false},
		{"alive check", frame(doip.TypeAliveCheckRequest), false},
		{"truncated", []byte{0x02, 0xFD, 0x80, 0x01}, false},
		{"empty", nil, false},
	} {
		if got := keeperFrame(tc.msg); got != tc.want {
			t.Errorf("%s: keeperFrame(% X) = %v, want %v", tc.name, tc.msg, got, tc.want)
		}
	}
}

func TestNeverTracesNothing(t *testing.T) {
	tr, err := newTracer(v1alpha1.TraceNever)
	if err != nil || tr != nil {
		t.Fatalf("newTracer(Never) = %v, %v; want nil, nil", tr, err)
	}
	if h := tr.frameHook(); h != nil {
		t.Fatalf("a Never job's hook is %T, want a nil interface so pkg/doip reports nothing", h)
	}
	tr.note("step x", false) // must not panic
	tr.step(&v1alpha1.Step{Name: "x"})
}

func TestTraceWithoutFramesIsNotStored(t *testing.T) {
	tr, err := newTracer(v1alpha1.TraceAlways)
	if err != nil {
		t.Fatal(err)
	}
	data, st, ok, err := tr.finish("job-trace")
	if err != nil || ok {
		t.Fatalf("finish of an empty trace: ok %v, err %v; want false, nil", ok, err)
	}
	if len(data) == 0 || st.Frames != 0 || st.Bytes != int64(len(data)) {
		t.Fatalf("empty trace: %d bytes, status %+v", len(data), st)
	}
}

// TestOnFailureTraceIsAlwaysTrace feeds one attempt's frames (a connection, a keeper's tester
// present in a step, a flash's blocks, the close) to an Always tracer, which records at once,
// and to OnFailure tracers, which log first: one keeps its log to the end, one passes its
// log's limit halfway and records at once from then on. All three store the same trace.
func TestOnFailureTraceIsAlwaysTrace(t *testing.T) {
	local, remote := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:13400")
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	msg := doipMessage
	frame := func(i int, dir doip.FrameDirection, data []byte) doip.Frame {
		return doip.Frame{Time: t0.Add(time.Duration(i) * time.Millisecond), Dir: dir, Local: local, Remote: remote, Data: data}
	}
	feed := func(tr *tracer) {
		tr.Conn(doip.ConnEvent{Time: t0, Open: true, Local: local, Remote: remote})
		tr.step(&v1alpha1.Step{Name: "flash"})
		tr.Frame(frame(1, doip.FrameSent, msg(doip.TypeDiagnosticMessage, 0x0E, 0x00, 0x00, 0xE0, 0x3E, 0x80)))
		tr.Frame(frame(1, doip.FrameReceived, msg(doip.TypeDiagnosticACK, 0x00, 0xE0, 0x0E, 0x00, 0x00, 0x3E, 0x80)))
		block := append([]byte{0x0E, 0x00, 0x00, 0xE0, 0x36, 0}, bytes.Repeat([]byte{0xA5}, 4088)...)
		for i := range 2000 {
			block[5] = byte(i + 1)
			tr.Frame(frame(2+i, doip.FrameSent, msg(doip.TypeDiagnosticMessage, block...)))
			tr.Frame(frame(2+i, doip.FrameReceived, msg(doip.TypeDiagnosticACK, 0x00, 0xE0, 0x0E, 0x00, 0x00)))
			tr.Frame(frame(2+i, doip.FrameReceived, msg(doip.TypeDiagnosticMessage, 0x00, 0xE0, 0x0E, 0x00, 0x76, byte(i+1))))
		}
		tr.note(commentClose, false)
		tr.Conn(doip.ConnEvent{Time: t0.Add(3 * time.Second), Local: local, Remote: remote})
	}
	record := func(mode v1alpha1.TraceMode, logLimit int) ([]byte, v1alpha1.TraceStatus) {
		tr, err := newTracer(mode)
		if err != nil {
			t.Fatal(err)
		}
		if logLimit > 0 {
			tr.logLimit = logLimit
		}
		feed(tr)
		data, st, ok, err := tr.finish("job-trace")
		if err != nil || !ok {
			t.Fatalf("finish (%s, log limit %d): ok %v, err %v", mode, logLimit, ok, err)
		}
		return data, st
	}
	want, wantStatus := record(v1alpha1.TraceAlways, 0)
	if wantStatus.Frames != 2+3*2000 {
		t.Fatalf("Always trace holds %d frames, want %d", wantStatus.Frames, 2+3*2000)
	}
	for _, limit := range []int{0, 256 << 10} {
		got, st := record(v1alpha1.TraceOnFailure, limit)
		if !bytes.Equal(got, want) || st != wantStatus {
			t.Errorf("OnFailure trace (log limit %d): %d bytes, status %+v; want the Always trace's %d bytes, %+v",
				limit, len(got), st, len(want), wantStatus)
		}
	}
}

// BenchmarkStepTraced is BenchmarkStep with the job's tracer recording every frame: its cost
// over BenchmarkStep is what trace OnFailure or Always adds to a step. After the first few
// thousand steps the 900 KiB are full and later frames are only counted, as in a long job.
func BenchmarkStepTraced(b *testing.B) {
	tr, err := newTracer(v1alpha1.TraceAlways)
	if err != nil {
		b.Fatal(err)
	}
	benchStep(b, tr.frameHook())
}
