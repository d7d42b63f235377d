package devcluster

import (
	"bytes"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/config/samples"
)

var _ = Describe("RunDemo", Ordered, func() {
	var c *Cluster

	BeforeAll(func(ctx SpecContext) {
		var err error
		c, err = Start(ctx, Options{Agents: 2, Controller: true, KubeconfigOut: filepath.Join(GinkgoT().TempDir(), "kubeconfig"),
			Progress: GinkgoWriter, Logger: testLogger()})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Stop)
	}, NodeTimeout(3*time.Minute))

	It("runs the sample rack, and every sample job ends as its annotations say", func(ctx SpecContext) {
		rack, err := LoadRack(samples.FS())
		Expect(err).NotTo(HaveOccurred())
		res, err := c.RunDemo(ctx, rack, DemoOptions{Namespace: "samples", Timeout: 2 * time.Minute})
		Expect(err).NotTo(HaveOccurred())
		var out bytes.Buffer
		Expect(res.Print(&out)).To(Succeed())
		Expect(res.Err()).NotTo(HaveOccurred(), out.String())
		Expect(res.Jobs).To(HaveLen(11))
		Expect(out.String()).To(SatisfyAll(
			ContainSubstring("All 11 sample jobs ended as expected."),
			ContainSubstring(`"ECUFLEETDEMO00001"`),
			ContainSubstring("NRC 0x22 conditionsNotCorrect"),
			ContainSubstring("B0001-00 status 0x2F"),
			Not(ContainSubstring("MISMATCH")),
		))

		By("pointing the ECUs at the simulators it started: the two behind the gateway share one")
		ports := map[string]int32{}
		for _, e := range res.ECUs {
			Expect(meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady)).To(BeTrue(), "ECU %s", e.Name)
			Expect(e.Spec.Address).To(Equal(SimHost))
			ports[e.Name] = e.Spec.Port
		}
		Expect(ports).To(HaveLen(5))
		Expect(ports["body"]).To(Equal(ports["brakes"]))
		Expect(ports["engine"]).NotTo(BeElementOf(ports["body"], ports["airbag"], ports["broken"]))
	}, SpecTimeout(3*time.Minute))

	It("names the job and what differs when a job does not end as annotated", func(ctx SpecContext) {
		wrong := strings.Replace(tinyJob, "      testerPresent: {}\n", "      readDataByIdentifier:\n        did: 0x1234\n", 1)
		rack, err := LoadRack(tinyRack(tinySim, tinyECU, wrong))
		Expect(err).NotTo(HaveOccurred())
		res, err := c.RunDemo(ctx, rack, DemoOptions{Namespace: "wrong", Timeout: time.Minute})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Err()).To(MatchError(SatisfyAll(
			ContainSubstring("job j1: phase is Failed, expected Succeeded"),
			ContainSubstring("0x31 requestOutOfRange"),
		)))
		var out bytes.Buffer
		Expect(res.Print(&out)).To(Succeed())
		Expect(out.String()).To(SatisfyAll(ContainSubstring("MISMATCH"), ContainSubstring("1 of 1 sample jobs did not end as expected")))
	}, SpecTimeout(2*time.Minute))

	It("reports the jobs that did not finish in time", func(ctx SpecContext) {
		slow := strings.Replace(tinyJob, "    uds:\n      testerPresent: {}\n", "    delay:\n      duration: 5m\n", 1)
		rack, err := LoadRack(tinyRack(tinySim, tinyECU, slow))
		Expect(err).NotTo(HaveOccurred())
		res, err := c.RunDemo(ctx, rack, DemoOptions{Namespace: "slow", Timeout: 3 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Unfinished).To(Equal([]string{"j1"}))
		Expect(res.Err()).To(MatchError(ContainSubstring("jobs j1 did not finish within 3s")))
	}, SpecTimeout(time.Minute))
})
