package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// tshark is where Debian installs Wireshark's command line dissector.
const tshark = "/usr/bin/tshark"

// jobTrace reads the job's trace ConfigMap and returns it with the uncompressed pcapng.
func jobTrace(ctx context.Context, job *diagv1.DiagnosticJob) (*corev1.ConfigMap, []byte) {
	GinkgoHelper()
	cm := &corev1.ConfigMap{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: job.Namespace, Name: job.Name + "-trace"}, cm)).To(Succeed(), "job %s's trace", job.Name)
	zr, err := gzip.NewReader(bytes.NewReader(cm.BinaryData["trace.pcapng.gz"]))
	Expect(err).NotTo(HaveOccurred())
	raw, err := io.ReadAll(zr)
	Expect(err).NotTo(HaveOccurred())
	Expect(len(raw)).To(BeNumerically(">", 28))
	Expect(binary.LittleEndian.Uint32(raw)).To(Equal(uint32(0x0A0D0D0A)), "a pcapng section header block")
	Expect(binary.LittleEndian.Uint32(raw[8:])).To(Equal(uint32(0x1A2B3C4D)), "the byte-order magic")
	return cm, raw
}

var _ = Describe("job traces", func() {
	It("stores trace Always and the OnFailure trace of a failed job as ConfigMaps owned by the jobs", func(ctx SpecContext) {
		ns := newNamespace(ctx, "e2e-trace")
		s := startSims(ctx, ns, 1)[0]
		always := builders.MakeJob("always", ns).ECU(s.ecu).Trace(diagv1.TraceAlways).Steps(
			builders.ReadDID("read-vin", 0xF190).ExpectValue(s.vin),
			builders.AliveCheck("alive"),
		).Obj()
		passes := builders.MakeJob("passes", ns).ECU(s.ecu).Step(builders.ReadDID("read-vin", 0xF190)).Obj()
		fails := builders.MakeJob("fails", ns).ECU(s.ecu).Step(builders.ReadDID("unknown-did", 0x1234)).Obj()
		for _, j := range []*diagv1.DiagnosticJob{always, passes, fails} {
			Expect(k8s.Create(ctx, j)).To(Succeed())
		}
		done := finalJobs(ctx, ns, 3, 2*time.Minute)
		Expect(done["always"].Status.Phase).To(Equal(diagv1.JobSucceeded), done["always"].Status.Message)
		Expect(done["passes"].Status.Phase).To(Equal(diagv1.JobSucceeded), done["passes"].Status.Message)
		Expect(done["fails"].Status.Phase).To(Equal(diagv1.JobFailed))

		By("trace Always: the ConfigMap is owned by the job and holds a pcapng")
		cm, raw := jobTrace(ctx, done["always"])
		Expect(cm.OwnerReferences).To(ConsistOf(And(HaveField("Kind", "DiagnosticJob"), HaveField("Name", "always"),
			HaveField("UID", done["always"].UID), HaveField("Controller", HaveValue(BeTrue())))))
		Expect(cm.Labels).To(HaveKeyWithValue(diagv1.AgentLabel, done["always"].Status.Agent))
		st := done["always"].Status.Trace
		Expect(st).NotTo(BeNil())
		Expect(st.ConfigMap).To(Equal(cm.Name))
		Expect(st.Frames).To(BeEquivalentTo(2 + 3 + 2)) // activation, read-vin with its ACK, alive check
		Expect(st.Truncated).To(BeFalse())

		By("OnFailure: none for the passing job, one for the failing job")
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "passes-trace"}, &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a passing OnFailure job keeps no trace: %v", err)
		Expect(done["passes"].Status.Trace).To(BeNil())
		_, failed := jobTrace(ctx, done["fails"])
		Expect(done["fails"].Status.Trace).NotTo(BeNil())

		By("Wireshark's dissector sees the DoIP messages and their steps")
		if _, err := os.Stat(tshark); err != nil {
			Skip("tshark is not installed at " + tshark + ": the dissector check is skipped")
		}
		dissect := func(raw []byte) string {
			file := filepath.Join(GinkgoT().TempDir(), "trace.pcapng")
			Expect(os.WriteFile(file, raw, 0o600)).To(Succeed())
			out, err := exec.CommandContext(ctx, tshark, "-r", file, "-d", fmt.Sprintf("tcp.port==%d,doip", s.port), "-Y", "doip",
				"-T", "fields", "-e", "doip.type", "-e", "frame.comment").Output()
			Expect(err).NotTo(HaveOccurred(), "tshark -r %s", file)
			return strings.TrimSpace(string(out))
		}
		// ConsistOf, not Equal: pkg/doip reports a sent frame after its write returns, so an
		// answer read meanwhile can come first (docs/traces.md, "Known limits").
		Expect(strings.Split(dissect(raw), "\n")).To(ConsistOf([]string{
			"0x0005\trouting activation", "0x0006\trouting activation",
			"0x8001\tstep read-vin", "0x8002\tstep read-vin", "0x8001\tstep read-vin",
			"0x0007\tstep alive", "0x0008\tstep alive",
		}))
		Expect(dissect(failed)).To(ContainSubstring("0x8001\tstep unknown-did"))
	}, SpecTimeout(4*time.Minute))
})
