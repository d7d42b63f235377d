package v1alpha1_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// samplesDir is config/samples, relative to this package's directory (where go test runs).
const samplesDir = "../../config/samples"

// readSamples decodes every YAML document of every sample file except the kustomization.
func readSamples() map[string][]*unstructured.Unstructured {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	out := map[string][]*unstructured.Unstructured{}
	for _, file := range files {
		if filepath.Base(file) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			err := dec.Decode(&u.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			Expect(err).NotTo(HaveOccurred(), "decoding %s", file)
			if len(u.Object) > 0 {
				out[filepath.Base(file)] = append(out[filepath.Base(file)], u)
			}
		}
	}
	return out
}

var _ = Describe("config/samples", func() {
	It("lists every sample file in its kustomization", func() {
		data, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var k struct {
			APIVersion string   `json:"apiVersion"`
			Kind       string   `json:"kind"`
			Resources  []string `json:"resources"`
		}
		Expect(yaml.UnmarshalStrict(data, &k)).To(Succeed())
		Expect(k.Kind).To(Equal("Kustomization"))
		var files []string
		for name := range readSamples() {
			files = append(files, name)
		}
		sort.Strings(files)
		Expect(k.Resources).To(ConsistOf(files))
	})

	It("has an ECU and a job for every kind of step", func() {
		kinds := map[string]bool{}
		ecus := 0
		for _, objs := range readSamples() {
			for _, u := range objs {
				switch u.GetKind() {
				case "ECU":
					ecus++
				case "DiagnosticJob":
					job := &diagv1.DiagnosticJob{}
					Expect(runtimeConvert(u, job)).To(Succeed())
					for _, s := range job.Spec.Steps {
						kinds[stepKind(s)] = true
					}
				}
			}
		}
		Expect(ecus).To(BeNumerically(">=", 1))
		Expect(kinds).NotTo(HaveKey("none"))
		Expect(kinds).To(HaveLen(18), "step kinds covered: %v", kinds)
	})

	It("are accepted by the API server, with defaults applied", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		samples := readSamples()
		Expect(samples).NotTo(BeEmpty())
		for file, objs := range samples {
			for _, u := range objs {
				u.SetNamespace(ns)
				Expect(k8s.Create(ctx, u)).To(Succeed(), "creating %s %s from %s", u.GetKind(), u.GetName(), file)

				switch u.GetKind() {
				case "ECU":
					ecu := &diagv1.ECU{}
					Expect(k8s.Get(ctx, client.ObjectKeyFromObject(u), ecu)).To(Succeed())
					Expect(ecu.Spec.Port).NotTo(BeZero(), "%s: port defaulted", file)
					Expect(ecu.Spec.ProtocolVersion).NotTo(BeZero(), "%s: protocolVersion defaulted", file)
					Expect(ecu.Spec.TesterAddress).NotTo(BeZero(), "%s: testerAddress defaulted", file)
					Expect(ecu.Spec.Probe).NotTo(BeNil(), "%s: probe defaulted", file)
					Expect(ecu.Spec.Probe.Method).NotTo(BeEmpty(), "%s: probe.method defaulted", file)
					Expect(ecu.Spec.Probe.PeriodSeconds).NotTo(BeZero(), "%s: probe.periodSeconds defaulted", file)
				case "DiagnosticJob":
					job := &diagv1.DiagnosticJob{}
					Expect(k8s.Get(ctx, client.ObjectKeyFromObject(u), job)).To(Succeed())
					Expect(job.Spec.ActiveDeadlineSeconds).NotTo(BeNil(), "%s: activeDeadlineSeconds defaulted", file)
					Expect(job.Spec.BackoffLimit).NotTo(BeNil(), "%s: backoffLimit defaulted", file)
				}
			}
		}
	})
})

// runtimeConvert decodes an unstructured sample into its Go type, failing on unknown fields,
// so that a sample with a misspelt field is caught before the server silently prunes it.
func runtimeConvert(u *unstructured.Unstructured, into any) error {
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(data, into)
}

// stepKind names a step's action, and for UDS steps its service, so coverage can be counted.
func stepKind(s diagv1.Step) string {
	switch {
	case s.EntityStatus != nil:
		return "entityStatus"
	case s.AliveCheck != nil:
		return "aliveCheck"
	case s.PowerMode != nil:
		return "powerMode"
	case s.VehicleIdentification != nil:
		return "vehicleIdentification"
	case s.RoutingActivation != nil:
		return "routingActivation"
	case s.Diagnostic != nil:
		return "diagnostic"
	case s.Reconnect != nil:
		return "reconnect"
	case s.Delay != nil:
		return "delay"
	case s.Download != nil:
		return "download"
	case s.UDS == nil:
		return "none"
	case s.UDS.ReadDataByIdentifier != nil:
		return "uds.readDataByIdentifier"
	case s.UDS.WriteDataByIdentifier != nil:
		return "uds.writeDataByIdentifier"
	case s.UDS.SessionControl != nil:
		return "uds.sessionControl"
	case s.UDS.ECUReset != nil:
		return "uds.ecuReset"
	case s.UDS.TesterPresent != nil:
		return "uds.testerPresent"
	case s.UDS.ReadDTCInformation != nil:
		return "uds.readDTCInformation"
	case s.UDS.ClearDiagnosticInformation != nil:
		return "uds.clearDiagnosticInformation"
	case s.UDS.SecurityAccess != nil:
		return "uds.securityAccess"
	case s.UDS.RoutineControl != nil:
		return "uds.routineControl"
	}
	return "none"
}
