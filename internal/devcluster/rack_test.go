package devcluster

import (
	"strings"
	"testing/fstest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/config/samples"
)

// A minimal valid rack; each bad-rack case changes one thing in it.
const (
	tinySim = "listen: 127.0.0.1:13499\nlogicalAddress: 0x0010\nvin: ECUFLEETTEST00001\n"
	tinyECU = `apiVersion: diag.ecufleet.io/v1alpha1
kind: ECU
metadata:
  name: e1
  annotations:
    diag.ecufleet.io/demo-sim: one
spec:
  address: 127.0.0.1
  port: 13499
  logicalAddress: 0x0010
`
	tinyJob = `apiVersion: diag.ecufleet.io/v1alpha1
kind: DiagnosticJob
metadata:
  name: j1
  annotations:
    diag.ecufleet.io/demo-expect: Succeeded
spec:
  ecuRef:
    name: e1
  steps:
  - name: a
    uds:
      testerPresent: {}
`
)

// flashJob is tinyJob with a download step instead, flashing the image of tinyImage.
var flashJob = strings.Replace(tinyJob, "  - name: a\n    uds:\n      testerPresent: {}\n",
	"  - name: flash\n    download:\n      image:\n        configMap: {name: app, key: app.hex}\n", 1)

// tinyImage is a ConfigMap holding an empty Intel HEX image (":00000001FF\n", base64).
const tinyImage = `apiVersion: v1
kind: ConfigMap
metadata:
  name: app
binaryData:
  app.hex: OjAwMDAwMDAxRkYK
`

func tinyRack(sim, ecus, jobs string) fstest.MapFS {
	return fstest.MapFS{
		"sims/one.yaml":      {Data: []byte(sim)},
		"rack.yaml":          {Data: []byte(ecus)},
		"jobs.yaml":          {Data: []byte(jobs)},
		"kustomization.yaml": {Data: []byte("resources: [rack.yaml, jobs.yaml]\n")},
	}
}

// withAnnotation adds an annotation line to tinyJob.
func withAnnotation(line string) string {
	return strings.Replace(tinyJob, "    diag.ecufleet.io/demo-expect: Succeeded\n", "    diag.ecufleet.io/demo-expect: Succeeded\n    "+line+"\n", 1)
}

var _ = Describe("LoadRack", func() {
	It("reads the demo rack of config/samples, consistent with the dev cluster's agents", func() {
		rack, err := LoadRack(samples.FS())
		Expect(err).NotTo(HaveOccurred())
		Expect(rack.simNames()).To(Equal([]string{"airbag", "broken", "engine", "gateway"}))
		Expect(rack.ECUs).To(HaveLen(5))
		Expect(rack.Jobs).To(HaveLen(11))
		Expect(rack.ecuObjs).To(HaveLen(5))
		Expect(rack.jobObjs).To(HaveLen(11))
		Expect(rack.ConfigMaps).To(HaveLen(1), "brakes-app, the image of the flash jobs")

		phases := map[diagv1.JobPhase]int{}
		for _, j := range rack.Jobs {
			phases[rack.expect[j.Name].phase]++
		}
		Expect(phases).To(Equal(map[diagv1.JobPhase]int{diagv1.JobSucceeded: 10, diagv1.JobFailed: 1}))
		Expect(rack.expect["flash-high"].finishesBefore).To(Equal("flash-low"))

		// ECUs with an agentSelector must be servable by the agents `ecufleet demo` starts.
		devAgent := labels.Set{AgentLabelKey: AgentLabelValue}
		for _, e := range rack.ECUs {
			if e.Spec.AgentSelector == nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(e.Spec.AgentSelector)
			Expect(err).NotTo(HaveOccurred())
			Expect(sel.Matches(devAgent)).To(BeTrue(), "ECU %s is not served by the dev agents", e.Name)
		}
	})

	It("keeps the samples as written, so that the API server applies its defaults", func() {
		rack, err := LoadRack(samples.FS())
		Expect(err).NotTo(HaveOccurred())
		for i, j := range rack.Jobs {
			if j.Name != "gateway-body" {
				continue
			}
			// readDTCInformation: {} must stay empty: a Go struct would send statusMask 0.
			steps, found, err := unstructured.NestedSlice(rack.jobObjs[i].Object, "spec", "steps")
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue())
			Expect(steps[1]).To(HaveKeyWithValue("uds", HaveKeyWithValue("readDTCInformation", BeEmpty())))
			return
		}
		Fail("no job gateway-body in the samples")
	})

	DescribeTable("refuses a broken rack with an error that says what to fix",
		func(fsys fstest.MapFS, want string) {
			_, err := LoadRack(fsys)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("ECU without a simulator",
			tinyRack(tinySim, strings.Replace(tinyECU, "    diag.ecufleet.io/demo-sim: one\n", "    other: x\n", 1), tinyJob),
			"annotation diag.ecufleet.io/demo-sim is missing"),
		Entry("unknown simulator",
			tinyRack(tinySim, strings.Replace(tinyECU, "demo-sim: one", "demo-sim: two", 1), tinyJob),
			`names simulator "two", but sims/two.yaml does not exist (have one)`),
		Entry("logical address the simulator does not serve",
			tinyRack(tinySim, strings.Replace(tinyECU, "logicalAddress: 0x0010", "logicalAddress: 0x0011", 1), tinyJob),
			"spec.logicalAddress 0x0011 is not served by simulator one"),
		Entry("port that differs from the simulator's",
			tinyRack(tinySim, strings.Replace(tinyECU, "port: 13499", "port: 13500", 1), tinyJob),
			"spec.port 13500 differs from the port of sims/one.yaml"),
		Entry("job without an expectation",
			tinyRack(tinySim, tinyECU, strings.Replace(tinyJob, "demo-expect: Succeeded", "other: x", 1)),
			"annotation diag.ecufleet.io/demo-expect is missing"),
		Entry("expectation that is no final phase",
			tinyRack(tinySim, tinyECU, strings.Replace(tinyJob, "demo-expect: Succeeded", "demo-expect: Running", 1)),
			`is "Running": want Succeeded, Failed or Cancelled`),
		Entry("step expectation of an unknown step",
			tinyRack(tinySim, tinyECU, withAnnotation("diag.ecufleet.io/demo-expect-steps: b=Passed")),
			`names step "b", which spec.steps does not have`),
		Entry("step expectation with an unknown phase",
			tinyRack(tinySim, tinyECU, withAnnotation("diag.ecufleet.io/demo-expect-steps: a=Done")),
			`step a phase "Done": want Passed, Failed or Skipped`),
		Entry("step expectation without a phase",
			tinyRack(tinySim, tinyECU, withAnnotation("diag.ecufleet.io/demo-expect-steps: a")),
			`"a" is not step=Phase`),
		Entry("finishes-before an unknown job",
			tinyRack(tinySim, tinyECU, withAnnotation("diag.ecufleet.io/demo-finishes-before: nope")),
			"names job nope, which the rack does not define"),
		Entry("finishes-before itself",
			tinyRack(tinySim, tinyECU, withAnnotation("diag.ecufleet.io/demo-finishes-before: j1")),
			"names the job itself"),
		Entry("misspelt field",
			tinyRack(tinySim, tinyECU, strings.Replace(tinyJob, "ecuRef:", "ecuRefs:", 1)),
			`jobs.yaml document 1 (DiagnosticJob): error unmarshaling JSON: while decoding JSON: json: unknown field "ecuRefs"`),
		Entry("kind a rack cannot hold",
			tinyRack(tinySim, tinyECU, strings.Replace(tinyJob, "kind: DiagnosticJob", "kind: DiagnosticAgent", 1)),
			`kind "DiagnosticAgent": a rack holds only ECUs, DiagnosticJobs and ConfigMaps`),
		Entry("ConfigMap with a foreign apiVersion",
			tinyRack(tinySim, tinyECU, tinyJob+"---\n"+strings.Replace(tinyImage, "apiVersion: v1", "apiVersion: diag.ecufleet.io/v1alpha1", 1)),
			`jobs.yaml document 2: apiVersion "diag.ecufleet.io/v1alpha1": want v1`),
		Entry("download from a ConfigMap the rack does not define",
			tinyRack(tinySim, tinyECU, flashJob),
			"step flash: image.configMap names ConfigMap app, which the rack does not define"),
		Entry("download from a key the ConfigMap does not have",
			tinyRack(tinySim, tinyECU, flashJob+"---\n"+strings.Replace(tinyImage, "app.hex:", "other.hex:", 1)),
			`step flash: ConfigMap app has no key "app.hex" in binaryData`),
		Entry("ConfigMap defined twice",
			tinyRack(tinySim, tinyECU, flashJob+"---\n"+tinyImage+"---\n"+tinyImage),
			"ConfigMap app is defined twice"),
		Entry("foreign apiVersion",
			tinyRack(tinySim, strings.Replace(tinyECU, "diag.ecufleet.io/v1alpha1", "v1", 1), tinyJob),
			`rack.yaml document 1: apiVersion "v1": want diag.ecufleet.io/v1alpha1`),
		Entry("job on an ECU the rack does not define",
			tinyRack(tinySim, tinyECU, strings.Replace(tinyJob, "name: e1", "name: e2", 1)),
			"spec.ecuRef names ECU e2, which the rack does not define"),
		Entry("job defined twice",
			tinyRack(tinySim, tinyECU, tinyJob+"---\n"+tinyJob),
			"DiagnosticJob j1 is defined twice"),
		Entry("ECU defined twice",
			tinyRack(tinySim, tinyECU+"---\n"+tinyECU, tinyJob),
			"ECU e1 is defined twice"),
		Entry("no job at all",
			tinyRack(tinySim, tinyECU, "# nothing here\n"),
			"no DiagnosticJob found"),
		Entry("simulator config with an unknown key",
			tinyRack(tinySim+"listn: x\n", tinyECU, tinyJob),
			`ecusim config sims/one.yaml`),
		Entry("file too large to be a sample",
			tinyRack(tinySim, tinyECU, tinyJob+"#"+strings.Repeat("x", maxRackFileBytes)+"\n"),
			"jobs.yaml is larger than 1048576 bytes"),
	)

	It("accepts the minimal rack the broken ones derive from", func() {
		rack, err := LoadRack(tinyRack(tinySim, tinyECU, tinyJob))
		Expect(err).NotTo(HaveOccurred())
		Expect(rack.Jobs).To(HaveLen(1))
		Expect(rack.ECUs[0].Spec.Port).To(BeEquivalentTo(13499))
	})

	It("reads ConfigMaps with the images of download steps", func() {
		rack, err := LoadRack(tinyRack(tinySim, tinyECU, flashJob+"---\n"+tinyImage))
		Expect(err).NotTo(HaveOccurred())
		Expect(rack.ConfigMaps).To(HaveLen(1))
		Expect(rack.ConfigMaps[0].BinaryData).To(HaveKeyWithValue("app.hex", []byte(":00000001FF\n")))
		Expect(rack.cmObjs).To(HaveLen(1))
	})
})
