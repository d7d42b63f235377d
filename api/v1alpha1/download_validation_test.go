package v1alpha1_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var goodSHA = strings.Repeat("ab", 32)

// flashFrom is a job whose one step downloads the image described by d.
func flashFrom(ns string, d *builders.DownloadWrapper) client.Object {
	return jobWithStep(ns, d.AsStep()).Obj()
}

var _ = Describe("The API server, for wave 2's steps and fields,", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	DescribeTable("refuses an invalid object with a message naming the field",
		func(ctx SpecContext, build func(ns string) client.Object, wants ...string) {
			err := k8s.Create(ctx, build(ns))
			Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid status error, got %v", err)
			for _, want := range wants {
				Expect(err.Error()).To(ContainSubstring(want))
			}
		},
		Entry("a download with two image sources", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromHTTP("http://images/app.hex", goodSHA).FromConfigMap("app", "app.hex"))
		}, "spec.steps[0].download.image", "image needs exactly one source"),
		Entry("a download with no image source", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash"))
		}, "spec.steps[0].download.image", "image needs exactly one source"),
		Entry("an http image with an uppercase sha256", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromHTTP("http://images/app.hex", strings.ToUpper(goodSHA)))
		}, "spec.steps[0].download.image.http.sha256", "sha256 must be 64 lowercase hex digits"),
		Entry("an http image with a short sha256", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromHTTP("http://images/app.hex", goodSHA[:63]))
		}, "spec.steps[0].download.image.http.sha256", "sha256 must be 64 lowercase hex digits"),
		Entry("an http image without sha256", func(ns string) client.Object {
			return raw(flashFrom(ns, builders.Download("flash").FromHTTP("http://images/app.hex", goodSHA)), func(o map[string]any) {
				delete(field(o, "spec", "steps", 0, "download", "image", "http"), "sha256")
			})
		}, "spec.steps[0].download.image.http.sha256", "Required value"),
		Entry("an ftp image url", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromHTTP("ftp://images/app.hex", goodSHA))
		}, "spec.steps[0].download.image.http.url", "url must be an http:// or https:// address"),
		Entry("an OCI ref without registry", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromOCI("app:1.2", ""))
		}, "spec.steps[0].download.image.oci.ref", "ref must be registry/repository:tag"),
		Entry("a configMap image without key", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", ""))
		}, "spec.steps[0].download.image.configMap.key", "at least 1 chars long"),
		Entry("an address without format bin", func(ns string) client.Object {
			d := builders.Download("flash").FromConfigMap("app", "app.hex").Bin(0x1000).Format(diagv1.ImageFormatIHex)
			return flashFrom(ns, d)
		}, "spec.steps[0].download", "address is required with format bin and only allowed with it"),
		Entry("format bin without address", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", "app.bin").Format(diagv1.ImageFormatBin))
		}, "spec.steps[0].download", "address is required with format bin"),
		Entry("an unknown image format", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", "app.elf").Format("elf"))
		}, "spec.steps[0].download.format", "Unsupported value", `"elf"`),
		Entry("an address above 32 bits", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", "app.bin").Bin(0x100000000))
		}, "spec.steps[0].download.address", "less than or equal to 4294967295"),
		Entry("an addressAndLengthFormatIdentifier with a zero nibble", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", "app.hex").AddressAndLengthFormat(0x40))
		}, "spec.steps[0].download.addressAndLengthFormatIdentifier", "each nibble 1..4"),
		Entry("an addressAndLengthFormatIdentifier with a 5-byte size", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", "app.hex").AddressAndLengthFormat(0x54))
		}, "spec.steps[0].download.addressAndLengthFormatIdentifier", "each nibble 1..4"),
		Entry("a maxBlockLength of 2", func(ns string) client.Object {
			return flashFrom(ns, builders.Download("flash").FromConfigMap("app", "app.hex").MaxBlockLength(2))
		}, "spec.steps[0].download.maxBlockLength", "greater than or equal to 3"),
		Entry("a download and a uds action in one step", func(ns string) client.Object {
			s := builders.Download("flash").FromConfigMap("app", "app.hex").AsStep()
			s.UDS = builders.TesterPresent("x").UDS
			return jobWithStep(ns, s).Obj()
		}, "spec.steps[0]", "exactly one action must be set", "download"),
		Entry("communicationControl with an unknown control type", func(ns string) client.Object {
			return jobWithStep(ns, builders.CommunicationControl("comm", "muteAll", 1)).Obj()
		}, "spec.steps[0].uds.communicationControl.controlType", "controlType must be enableRxAndTx"),
		Entry("communicationControl type 4, which needs a node id", func(ns string) client.Object {
			return jobWithStep(ns, builders.CommunicationControl("comm", "4", 1)).Obj()
		}, "spec.steps[0].uds.communicationControl.controlType", "other than 4 and 5"),
		Entry("communicationControl with communicationType 256", func(ns string) client.Object {
			return jobWithStep(ns, builders.CommunicationControl("comm", "disableRxAndTx", 256)).Obj()
		}, "spec.steps[0].uds.communicationControl.communicationType", "less than or equal to 255"),
		Entry("controlDTCSetting neither on nor off", func(ns string) client.Object {
			return jobWithStep(ns, builders.ControlDTCSetting("dtc", "pause")).Obj()
		}, "spec.steps[0].uds.controlDTCSetting.type", "Unsupported value", `"pause"`),
		Entry("communicationControl and controlDTCSetting in one uds action", func(ns string) client.Object {
			s := builders.CommunicationControl("comm", "disableRxAndTx", 1)
			s.UDS.ControlDTCSetting = &diagv1.ControlDTCSetting{Type: diagv1.DTCSettingOff}
			return jobWithStep(ns, s).Obj()
		}, "spec.steps[0].uds", "exactly one UDS service must be set"),
		Entry("an unknown trace mode", func(ns string) client.Object {
			return validJob(ns).Trace("Sometimes").Obj()
		}, "spec.trace", "Unsupported value", `"Sometimes"`),
	)

	It("fills the defaults of a download, the typed UDS actions and trace", func(ctx SpecContext) {
		job := builders.MakeJob("flash-defaults", ns).ECU("sim-0").Steps(
			builders.Download("flash").FromConfigMap("app", "app.hex").AsStep(),
			builders.CommunicationControl("comm-off", "disableRxAndTx", 0),
		).Obj()
		Expect(k8s.Create(ctx, job)).To(Succeed())
		got := &diagv1.DiagnosticJob{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		Expect(got.Spec.Trace).To(Equal(diagv1.TraceOnFailure))
		d := got.Spec.Steps[0].Download
		Expect(d.Format).To(Equal(diagv1.ImageFormatAuto))
		Expect(d.DataFormatIdentifier).To(BeEquivalentTo(0))
		Expect(d.AddressAndLengthFormatIdentifier).To(BeNil())
		Expect(d.MaxBlockLength).To(BeNil())
		Expect(got.Spec.Steps[1].UDS.CommunicationControl.CommunicationType).To(BeEquivalentTo(1))
	})

	It("accepts a whole flash sequence, with every image source", func(ctx SpecContext) {
		job := builders.MakeJob("flash-sequence", ns).ECU("sim-0").Trace(diagv1.TraceAlways).Steps(
			builders.SessionControl("programming", "programming"),
			builders.SecurityAccess("unlock", 1, "01 02 03 04"),
			builders.CommunicationControl("comm-off", "disableRxAndTx", 1),
			builders.ControlDTCSetting("dtc-off", diagv1.DTCSettingOff),
			builders.RoutineControl("erase", diagv1.RoutineStart, 0xFF00, "00 00 00 00 00 01 00 00"),
			builders.Download("flash-http").FromHTTP("https://images.lab/app.hex", goodSHA).AddressAndLengthFormat(0x44).MaxBlockLength(4098).AsStep(),
			builders.Download("flash-oci").FromOCI("registry.lab:5000/ecu/app:1.2", "regcred").Format(diagv1.ImageFormatSRec).AsStep(),
			builders.Download("flash-bin").FromConfigMap("app", "app.bin").Bin(0x10000).AsStep(),
			builders.RoutineControl("check", diagv1.RoutineStart, 0x0202, "12 34 56 78"),
			builders.ECUReset("reset", diagv1.ECUResetHard),
		).Obj()
		Expect(k8s.Create(ctx, job)).To(Succeed())
	})
})
