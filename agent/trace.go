package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/pcapng"
)

// Where and how big a job's trace is stored (design "Traces").
const (
	// TraceSuffix ends the name of a job's trace ConfigMap, <job>-trace; the admission policy
	// holds the agent to it.
	TraceSuffix = "-trace"
	// TraceKey is the binaryData key holding the gzipped pcapng.
	TraceKey = "trace.pcapng.gz"
	// TraceMaxBytes bounds the gzipped trace, well inside a ConfigMap's 1 MiB.
	TraceMaxBytes = 900 << 10
	// traceTrailer is kept free for what gzip writes at Close: an empty final block and the
	// 8-byte trailer.
	traceTrailer = 64
)

// Packet comments for frames outside any step.
const (
	commentActivation = "routing activation"
	commentKeeper     = "tester present keeper"
	commentClose      = "close at the end of the job"
)

// traceLogLimit bounds the memory an OnFailure trace holds uncompressed (pcapng.Log) while
// it may yet be thrown away: a 16 MiB flash in 4 KiB blocks logs about 2 MiB. A trace that
// grows past it is written out and compressed from then on, with the same result, so a job
// holds at most this and the 900 KiB of its compressed trace.
const traceLogLimit = 4 << 20

// tracer records one attempt's DoIP frames as gzipped pcapng in memory, bounded by
// TraceMaxBytes: once full, later frames are counted, not stored. An OnFailure trace, which
// a job that succeeds throws away, first only logs its frames (pcapng.Log) and builds and
// compresses them once it is kept, or once the log passes traceLogLimit. It is the attempt's
// doip.FrameHook; a nil tracer (spec.trace Never) records nothing.
type tracer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	gz        *gzip.Writer
	w         *pcapng.Writer
	log       *pcapng.Log // OnFailure: frames not yet written to w; nil once they are
	logLimit  int         // traceLogLimit; smaller in tests
	err       error       // the first frame or event w refused
	comment   string      // the current step's, or what the frames outside a step are for
	ownKeeper bool        // the current step itself sends the keeper's request (3E 80)
}

// newTracer starts the trace of an attempt of a job with this spec.trace, or returns nil for
// Never.
func newTracer(mode v1alpha1.TraceMode) (*tracer, error) {
	if mode == v1alpha1.TraceNever {
		return nil, nil
	}
	t := &tracer{comment: commentActivation, logLimit: traceLogLimit}
	// BestSpeed: a flash records thousands of frames, and the default level costs each block
	// more CPU than its exchange with the ECU; the trace still compresses several-fold.
	t.gz, _ = gzip.NewWriterLevel(&t.buf, gzip.BestSpeed)
	w, err := pcapng.NewWriter(t.gz, pcapng.Options{MaxBytes: TraceMaxBytes - traceTrailer, Stored: t.buf.Len})
	if err != nil {
		return nil, fmt.Errorf("start the job's trace: %w", err)
	}
	t.w = w
	if mode != v1alpha1.TraceAlways {
		t.log = &pcapng.Log{}
	}
	return t, nil
}

// frameHook is what the attempt's doip.Client reports frames to: nil (no recording) for a
// nil tracer, so a Never job pays nothing.
func (t *tracer) frameHook() doip.FrameHook {
	if t == nil {
		return nil
	}
	return t
}

// step names the frames that follow after step; a step that sends 3E 80 itself keeps its
// own name on those frames.
func (t *tracer) step(step *v1alpha1.Step) {
	own := false
	if step.Diagnostic != nil {
		req, err := step.Diagnostic.Request.Bytes()
		own = err == nil && isKeeperRequest(req)
	}
	t.note("step "+step.Name, own)
}

// note names the frames that follow.
func (t *tracer) note(comment string, ownKeeper bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.comment, t.ownKeeper = comment, ownKeeper
}

// Frame records one DoIP frame; the keeper's tester present and its ACK get their own comment.
func (t *tracer) Frame(f doip.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	comment := t.comment
	if !t.ownKeeper && keeperFrame(f.Data) {
		comment = commentKeeper
	}
	fr := pcapng.FrameOf(f, comment)
	if t.log == nil {
		t.keep(t.w.Frame(fr))
		return
	}
	t.log.Frame(fr)
	if t.log.Size() > t.logLimit {
		t.writeLog()
	}
}

// Conn records a connection opening or closing.
func (t *tracer) Conn(e doip.ConnEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ev := pcapng.EventOf(e, t.comment)
	if t.log == nil {
		t.keep(t.w.Event(ev))
		return
	}
	t.log.Event(ev)
}

// writeLog writes what the log holds into the trace and records there from then on; under mu.
func (t *tracer) writeLog() {
	if t.log != nil {
		t.keep(t.log.Replay(t.w))
		t.log = nil
	}
}

// keep remembers the first error; under mu.
func (t *tracer) keep(err error) {
	if err != nil && t.err == nil {
		t.err = err
	}
}

// keeperFrame tells the keeper's request (a diagnostic message carrying exactly 3E 80) and
// the diagnostic ACK or NACK that copies it.
func keeperFrame(msg []byte) bool {
	if len(msg) < doip.HeaderLen+4 {
		return false
	}
	payload := msg[doip.HeaderLen:]
	switch doip.PayloadType(binary.BigEndian.Uint16(msg[2:4])) {
	case doip.TypeDiagnosticMessage:
		return isKeeperRequest(payload[4:])
	case doip.TypeDiagnosticACK, doip.TypeDiagnosticNACK:
		return len(payload) > 5 && isKeeperRequest(payload[5:])
	}
	return false
}

// isKeeperRequest is uds.TesterPresent(true): what the keeper sends.
func isKeeperRequest(uds []byte) bool {
	return len(uds) == 2 && uds[0] == 0x3E && uds[1] == 0x80
}

// finish closes the trace and returns the gzipped pcapng and its status; ok is false when no
// frame was seen (the ECU was never reached), so there is nothing worth storing.
func (t *tracer) finish(configMap string) (data []byte, st v1alpha1.TraceStatus, ok bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writeLog()
	frames := t.w.Frames() + t.w.Dropped()
	if err := t.err; err != nil {
		return nil, st, false, fmt.Errorf("record the trace: %w", err)
	}
	if err := t.gz.Close(); err != nil {
		return nil, st, false, fmt.Errorf("compress the trace: %w", err)
	}
	st = v1alpha1.TraceStatus{ConfigMap: configMap, Frames: int64(frames), Bytes: int64(t.buf.Len()), Truncated: t.w.Truncated()}
	return t.buf.Bytes(), st, frames > 0, nil
}

// keepTrace says whether an attempt that ended in phase keeps its trace: Always, or OnFailure
// (also the default of a job stored before spec.trace existed) when it did not succeed. A
// suspended attempt (no phase) is not a failure.
func keepTrace(mode v1alpha1.TraceMode, phase v1alpha1.JobPhase) bool {
	switch mode {
	case v1alpha1.TraceAlways:
		return true
	case v1alpha1.TraceNever:
		return false
	}
	return phase != "" && phase != v1alpha1.JobSucceeded
}

// storeTrace writes the attempt's trace into the ConfigMap <job>-trace when the job's
// spec.trace asks for it, replacing an earlier attempt's, and returns what goes into
// status.trace (nil when nothing was stored). The error is for the job's message: a trace
// that cannot be stored never fails the job.
func (at *attempt) storeTrace(ctx context.Context, phase v1alpha1.JobPhase) (*v1alpha1.TraceStatus, error) {
	if at.trace == nil || !keepTrace(at.job.Spec.Trace, phase) {
		return nil, nil
	}
	key := types.NamespacedName{Namespace: at.key.Namespace, Name: at.key.Name + TraceSuffix}
	data, st, ok, err := at.trace.finish(key.Name)
	if err != nil || !ok {
		return nil, err
	}
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace,
			Labels: map[string]string{v1alpha1.AgentLabel: at.r.opts.Name},
			// blockOwnerDeletion needs update on diagnosticjobs/finalizers, which the agent lacks.
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "DiagnosticJob",
				Name: at.key.Name, UID: at.uid, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}}},
		BinaryData: map[string][]byte{TraceKey: data},
	}
	err = at.r.client.Create(ctx, want)
	if apierrors.IsAlreadyExists(err) {
		// An earlier attempt's trace: this attempt's replaces it. Read from the API server, so
		// the agent needs no cache (and no list or watch) of ConfigMaps.
		have := &corev1.ConfigMap{}
		if err = at.r.reader.Get(ctx, key, have); err == nil {
			have.Labels, have.OwnerReferences = want.Labels, want.OwnerReferences
			have.Data, have.BinaryData = nil, want.BinaryData
			err = at.r.client.Update(ctx, have)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store the trace in ConfigMap %s: %w; check the agent's RBAC "+
			"(config/rbac/agent/trace_cluster_role.yaml) and admission policy", key, err)
	}
	at.log.Info("Trace stored", "configMap", key.Name, "frames", st.Frames, "bytes", st.Bytes, "truncated", st.Truncated)
	return &st, nil
}
