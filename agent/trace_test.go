package agent_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
	"github.com/ecufleet/ecufleet/pkg/pcapng"
)

// tracePacket is one enhanced packet block of a trace: its TCP flags and payload, and comments.
type tracePacket struct {
	udp      bool // a UDP datagram (entity status, vehicle identification); else TCP
	flags    byte // TCP flags
	payload  []byte
	comments []string
}

// traceFile is a trace as the tests read it back: the section header comment and the packets.
type traceFile struct {
	section string
	packets []tracePacket
}

// readTrace is a minimal pcapng reader for the files the agent writes (one section, Ethernet,
// IPv4, TCP): pkg/pcapng has none outside its tests, and reading independently of the writer
// is the point.
func readTrace(data []byte) (traceFile, error) {
	var tf traceFile
	for len(data) > 0 {
		if len(data) < 12 {
			return tf, fmt.Errorf("%d bytes left, less than a block header", len(data))
		}
		typ, n := binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:])
		if n < 12 || n%4 != 0 || int(n) > len(data) || binary.LittleEndian.Uint32(data[n-4:]) != n {
			return tf, fmt.Errorf("block 0x%08X: bad length %d", typ, n)
		}
		body := data[8 : n-4]
		data = data[n:]
		switch typ {
		case 0x0A0D0D0A: // section header: magic, version, section length, options
			if len(body) < 16 || binary.LittleEndian.Uint32(body) != 0x1A2B3C4D {
				return tf, errors.New("section header: not little-endian pcapng")
			}
			if c := traceComments(body[16:]); len(c) > 0 {
				tf.section = c[0]
			}
		case 6: // enhanced packet: interface, time (8), captured and original length, data, options
			if len(body) < 20 {
				return tf, errors.New("enhanced packet block too short")
			}
			capLen := int(binary.LittleEndian.Uint32(body[12:]))
			padded := (capLen + 3) &^ 3
			if 20+padded > len(body) {
				return tf, fmt.Errorf("packet of %d bytes overruns its block", capLen)
			}
			p, err := packetOf(body[20 : 20+capLen])
			if err != nil {
				return tf, err
			}
			p.comments = traceComments(body[20+padded:])
			tf.packets = append(tf.packets, p)
		}
	}
	return tf, nil
}

// traceComments returns the opt_comment values of an options list.
func traceComments(opts []byte) []string {
	var out []string
	for len(opts) >= 4 {
		code, n := binary.LittleEndian.Uint16(opts), int(binary.LittleEndian.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		if code == 1 {
			out = append(out, string(opts[4:4+n]))
		}
		opts = opts[min(4+(n+3)&^3, len(opts)):]
	}
	return out
}

// packetOf takes an Ethernet/IPv4 packet with a TCP segment or a UDP datagram apart.
func packetOf(pkt []byte) (tracePacket, error) {
	if len(pkt) < 14+20 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
		return tracePacket{}, errors.New("not an IPv4 Ethernet frame")
	}
	ip := pkt[14:]
	ihl, total := int(ip[0]&0x0F)*4, int(binary.BigEndian.Uint16(ip[2:]))
	if ip[9] == 17 && total <= len(ip) && ihl+8 <= total {
		return tracePacket{udp: true, payload: ip[ihl+8 : total]}, nil
	}
	if ip[9] != 6 || total > len(ip) || ihl+20 > total {
		return tracePacket{}, errors.New("not a whole TCP segment or UDP datagram")
	}
	tcp := ip[ihl:total]
	off := int(tcp[12]>>4) * 4
	if off < 20 || off > len(tcp) {
		return tracePacket{}, errors.New("bad TCP data offset")
	}
	return tracePacket{flags: tcp[13], payload: tcp[off:]}, nil
}

// storedTrace reads the job's trace ConfigMap and its file.
func storedTrace(job *v1alpha1.DiagnosticJob) (*corev1.ConfigMap, traceFile) {
	GinkgoHelper()
	cm := &corev1.ConfigMap{}
	Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: job.Namespace, Name: job.Name + agent.TraceSuffix}, cm)).To(Succeed())
	gz := cm.BinaryData[agent.TraceKey]
	Expect(len(gz)).To(BeNumerically("<=", agent.TraceMaxBytes))
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	Expect(err).NotTo(HaveOccurred())
	raw, err := io.ReadAll(zr)
	Expect(err).NotTo(HaveOccurred(), "the trace must gunzip whole")
	tf, err := readTrace(raw)
	Expect(err).NotTo(HaveOccurred())
	return cm, tf
}

// expectNoTrace checks that a finished job has no trace: the agent stores it before it writes
// the job's end, so there is nothing to wait for.
func expectNoTrace(job *v1alpha1.DiagnosticJob) {
	GinkgoHelper()
	Expect(job.Status.Trace).To(BeNil())
	err := k8s.Get(suiteCtx, client.ObjectKey{Namespace: job.Namespace, Name: job.Name + agent.TraceSuffix}, &corev1.ConfigMap{})
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "job %s should have no trace ConfigMap, got %v", job.Name, err)
}

// withComment returns the DoIP payloads of the packets carrying comment.
func (tf traceFile) withComment(comment string) [][]byte {
	var out [][]byte
	for _, p := range tf.packets {
		for _, c := range p.comments {
			if c == comment && len(p.payload) > 0 {
				out = append(out, p.payload)
			}
		}
	}
	return out
}

// messages counts the DoIP messages stored: a message's last segment carries PSH.
func (tf traceFile) messages() int {
	n := 0
	for _, p := range tf.packets {
		if p.flags&0x08 != 0 {
			n++
		}
	}
	return n
}

// udsOf is the UDS data of a diagnostic message (0x8001), or nil.
func udsOf(msg []byte) []byte {
	if len(msg) < 12 || binary.BigEndian.Uint16(msg[2:]) != 0x8001 {
		return nil
	}
	return msg[12:]
}

// tracedRack starts what a trace spec needs in a namespace of its own: an agent, a simulator
// with config c, and the ECU "ecu" on it served by that agent; it returns the namespace.
func tracedRack(c ecusim.Config) string {
	GinkgoHelper()
	ns := newNamespace()
	rack := map[string]string{"rack": ns}
	startAgent(ns+"-a", rack)
	_, port := startSim(c)
	createReadyECU(builders.MakeECU("ecu", ns).Port(port).AgentSelector(rack).ProbeTiming(1, 1, 2).Obj())
	return ns
}

var _ = Describe("Job traces", func() {
	It("stores trace Always as a ConfigMap owned by the job, each frame named after its step", func() {
		ns := tracedRack(ecusim.Config{})

		job := builders.MakeJob("traced", ns).ECU("ecu").Trace(v1alpha1.TraceAlways).Steps(
			builders.ReadDID("read-vin", 0xF190).ExpectValue(simVIN),
			builders.SessionControl("extended", "extended"),
			builders.Delay("keeper-runs", 2500*time.Millisecond), // one tester present of the keeper
			builders.AliveCheck("alive"),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)

		cm, tf := storedTrace(done)
		Expect(cm.Labels).To(HaveKeyWithValue(v1alpha1.AgentLabel, ns+"-a"))
		Expect(cm.OwnerReferences).To(HaveLen(1))
		owner := cm.OwnerReferences[0]
		Expect(owner.Kind).To(Equal("DiagnosticJob"))
		Expect(owner.Name).To(Equal(job.Name))
		Expect(owner.UID).To(Equal(done.UID))
		Expect(owner.Controller).To(HaveValue(BeTrue()))
		Expect(tf.section).To(Equal(pcapng.SectionComment))

		// Connection: SYN, SYN-ACK, ACK and the activation, named as such.
		Expect(tf.packets[0].flags&0x02).NotTo(BeZero(), "the trace opens with a SYN")
		activation := tf.withComment("routing activation")
		Expect(activation).NotTo(BeEmpty())
		Expect(binary.BigEndian.Uint16(activation[0][2:])).To(Equal(uint16(0x0005)))

		// Each step's request and answer carry its name.
		var readVIN []string
		for _, m := range tf.withComment("step read-vin") {
			if u := udsOf(m); u != nil {
				readVIN = append(readVIN, fmt.Sprintf("% X", u[:3]))
			}
		}
		// ConsistOf, not Equal: pkg/doip reports a sent frame after its write returns, so an
		// answer read meanwhile can come first (docs/traces.md, "Known limits").
		Expect(readVIN).To(ConsistOf("22 F1 90", "62 F1 90"))
		Expect(tf.withComment("step extended")).NotTo(BeEmpty())
		alive := tf.withComment("step alive")
		Expect(alive).To(HaveLen(2))
		Expect([]uint16{binary.BigEndian.Uint16(alive[0][2:]), binary.BigEndian.Uint16(alive[1][2:])}).To(ConsistOf(uint16(0x0007), uint16(0x0008)))
		keeper := tf.withComment("tester present keeper")
		Expect(keeper).NotTo(BeEmpty(), "the keeper's tester present during the delay")
		Expect(udsOf(keeper[0])).To(Equal([]byte{0x3E, 0x80}))
		Expect(tf.packets[len(tf.packets)-1].comments).To(ContainElement(HavePrefix("close at the end of the job")))

		Expect(done.Status.Trace).NotTo(BeNil())
		Expect(done.Status.Trace.ConfigMap).To(Equal(cm.Name))
		Expect(done.Status.Trace.Frames).To(BeEquivalentTo(tf.messages()))
		Expect(done.Status.Trace.Bytes).To(BeEquivalentTo(len(cm.BinaryData[agent.TraceKey])))
		Expect(done.Status.Trace.Truncated).To(BeFalse())
	})

	It("keeps OnFailure traces of failed jobs only, and none for Never", func() {
		ns := tracedRack(ecusim.Config{})

		passing := builders.MakeJob("passes", ns).ECU("ecu").Step(builders.ReadDID("read-vin", 0xF190)).Obj()
		failing := builders.MakeJob("fails", ns).ECU("ecu").Step(builders.ReadDID("unknown-did", 0x1234)).Obj()
		never := builders.MakeJob("never", ns).ECU("ecu").Trace(v1alpha1.TraceNever).Step(builders.ReadDID("unknown-did", 0x1234)).Obj()
		Expect(passing.Spec.Trace).To(BeEmpty(), "the API server defaults spec.trace to OnFailure")
		for _, j := range []*v1alpha1.DiagnosticJob{passing, failing, never} {
			Expect(k8s.Create(suiteCtx, j)).To(Succeed())
		}

		done := waitPhase(passing, v1alpha1.JobSucceeded)
		Expect(done.Spec.Trace).To(Equal(v1alpha1.TraceOnFailure))
		expectNoTrace(done)

		done = waitPhase(failing, v1alpha1.JobFailed)
		_, tf := storedTrace(done)
		var requests []string
		for _, m := range tf.withComment("step unknown-did") {
			if u := udsOf(m); u != nil {
				requests = append(requests, fmt.Sprintf("% X", u))
			}
		}
		Expect(requests).To(ConsistOf("22 12 34", "7F 22 31"))
		Expect(done.Status.Trace).NotTo(BeNil())

		expectNoTrace(waitPhase(never, v1alpha1.JobFailed))
	})

	It("never fails a job whose trace cannot be stored, and says why in its message", func() {
		ns := tracedRack(ecusim.Config{})
		// An immutable ConfigMap in the way: the agent's update of it is refused.
		blocker := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "blocked" + agent.TraceSuffix, Namespace: ns},
			Immutable: ptr.To(true), Data: map[string]string{"note": "not a trace"}}
		Expect(k8s.Create(suiteCtx, blocker)).To(Succeed())
		job := builders.MakeJob("blocked", ns).ECU("ecu").Trace(v1alpha1.TraceAlways).Step(builders.ReadDID("read-vin", 0xF190)).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Message).To(HavePrefix("All 1 steps passed; trace not stored: store the trace in ConfigMap " + ns + "/blocked-trace"))
		Expect(done.Status.Trace).To(BeNil())
		got := &corev1.ConfigMap{}
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(blocker), got)).To(Succeed())
		Expect(got.Data).To(Equal(blocker.Data))
	})

	It("stays within 900 KiB for a long job, counting the frames it could not store", func() {
		// 16 DIDs of 60000 random bytes each, read two at a time (a raw request, so the step's
		// value stays empty and its status small): no two responses share gzip's 32 KiB
		// window, so 12 steps carry about 1.4 MB that cannot compress.
		dids := map[string]ecusim.DID{}
		for i := range 16 {
			b := make([]byte, 60000)
			_, _ = rand.Read(b)
			h := ecusim.Hex(fmt.Sprintf("% X", b))
			dids[fmt.Sprintf("0x%04X", 0x0100+i)] = ecusim.DID{Hex: &h}
		}
		ns := tracedRack(ecusim.Config{UDS: ecusim.UDS{DIDs: dids}})

		const steps = 12
		w := builders.MakeJob("long", ns).ECU("ecu").Trace(v1alpha1.TraceAlways)
		for i := range steps {
			req := fmt.Sprintf("22 01 %02X 01 %02X", 2*i%16, (2*i+1)%16)
			w.Step(builders.Diagnostic(fmt.Sprintf("read-%03d", i), v1alpha1.HexBytes(req)))
		}
		job := w.Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)

		cm, tf := storedTrace(done)
		st := done.Status.Trace
		Expect(st).NotTo(BeNil())
		Expect(st.Truncated).To(BeTrue())
		Expect(st.Bytes).To(BeNumerically("<=", agent.TraceMaxBytes))
		Expect(st.Bytes).To(BeNumerically(">", agent.TraceMaxBytes*3/4), "the budget is used, less at most one step's 120 KB")
		Expect(st.Bytes).To(BeEquivalentTo(len(cm.BinaryData[agent.TraceKey])))
		// Every frame is counted: activation (2) and per step request, ACK and response.
		Expect(st.Frames).To(BeEquivalentTo(2 + 3*steps))
		Expect(tf.messages()).To(BeNumerically("<", st.Frames))
		// The stored part is a prefix: the first step is there, the last one is not.
		Expect(tf.withComment("step read-000")).NotTo(BeEmpty())
		Expect(tf.withComment("step read-011")).To(BeEmpty())
		Expect(strings.Join(tf.packets[len(tf.packets)-1].comments, ",")).To(HavePrefix("step read-"))
	})
})
