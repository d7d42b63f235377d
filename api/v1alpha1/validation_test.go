package v1alpha1_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("The API server", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	DescribeTable("refuses an invalid object with a message naming the field",
		func(ctx SpecContext, build func(ns string) client.Object, wants ...string) {
			expectRefused(ctx, build(ns), wants...)
		},

		// DiagnosticJob: steps.
		Entry("two actions in one step", func(ns string) client.Object {
			s := builders.ReadDID("vin", 0xF190)
			s.Delay = &diagv1.DelayAction{}
			return jobWithStep(ns, s).Obj()
		}, "spec.steps[0]", "exactly one action must be set"),
		Entry("a step without action", func(ns string) client.Object {
			return jobWithStep(ns, &builders.StepWrapper{Step: diagv1.Step{Name: "nothing"}}).Obj()
		}, "spec.steps[0]", "exactly one action must be set"),
		Entry("two UDS services in one step", func(ns string) client.Object {
			s := builders.ReadDID("vin", 0xF190)
			s.UDS.TesterPresent = &diagv1.TesterPresent{}
			return jobWithStep(ns, s).Obj()
		}, "spec.steps[0].uds", "exactly one UDS service must be set"),
		Entry("a UDS step without service", func(ns string) client.Object {
			return jobWithStep(ns, &builders.StepWrapper{Step: diagv1.Step{Name: "uds", UDS: &diagv1.UDSAction{}}}).Obj()
		}, "spec.steps[0].uds", "exactly one UDS service must be set"),
		Entry("duplicate step names", func(ns string) client.Object {
			return validJob(ns).Step(builders.TesterPresent("vin")).Obj()
		}, "spec.steps[1]", "Duplicate value", `"vin"`),
		Entry("no steps field", func(ns string) client.Object {
			return builders.MakeJob("invalid", ns).ECU("sim-0").Obj()
		}, "spec.steps", "Required value"),
		Entry("0 steps", func(ns string) client.Object {
			j := builders.MakeJob("invalid", ns).ECU("sim-0").Obj()
			j.Spec.Steps = []diagv1.Step{}
			return j
		}, "spec.steps", "at least 1 items"),
		Entry("257 steps", func(ns string) client.Object {
			j := builders.MakeJob("invalid", ns).ECU("sim-0")
			for i := range 257 {
				j.Step(builders.TesterPresent(fmt.Sprintf("s-%d", i)))
			}
			return j.Obj()
		}, "spec.steps", "must have at most 256 items"),
		Entry("a step name with a space", func(ns string) client.Object {
			return jobWithStep(ns, builders.TesterPresent("read vin")).Obj()
		}, "spec.steps[0].name", "should match"),
		Entry("a step name of 64 characters", func(ns string) client.Object {
			return jobWithStep(ns, builders.TesterPresent(fmt.Sprintf("%064d", 0))).Obj()
		}, "spec.steps[0].name", "may not be more than 63"),

		// DiagnosticJob: ECU choice and scheduling.
		Entry("both ecuRef and ecuSelector", func(ns string) client.Object {
			return validJob(ns).ECUSelector(map[string]string{"rack": "a"}).Obj()
		}, "spec", "exactly one of ecuRef or ecuSelector must be set"),
		Entry("neither ecuRef nor ecuSelector", func(ns string) client.Object {
			return builders.MakeJob("invalid", ns).Step(builders.ReadDID("vin", 0xF190)).Obj()
		}, "spec", "exactly one of ecuRef or ecuSelector must be set"),
		Entry("an ECU name that is not a DNS name", func(ns string) client.Object {
			return validJob(ns).ECU("Sim_0").Obj()
		}, "spec.ecuRef.name", "should match"),
		Entry("a negative backoffLimit", func(ns string) client.Object {
			return validJob(ns).BackoffLimit(-1).Obj()
		}, "spec.backoffLimit", "greater than or equal to 0"),
		Entry("activeDeadlineSeconds 0", func(ns string) client.Object {
			return validJob(ns).Deadline(0).Obj()
		}, "spec.activeDeadlineSeconds", "greater than or equal to 1"),
		Entry("a negative ttlSecondsAfterFinished", func(ns string) client.Object {
			return validJob(ns).TTLSecondsAfterFinished(-5).Obj()
		}, "spec.ttlSecondsAfterFinished", "greater than or equal to 0"),

		// Hex byte strings.
		Entry("a hex request with an odd digit", func(ns string) client.Object {
			return jobWithStep(ns, builders.Diagnostic("raw", "22 F1 9")).Obj()
		}, "spec.steps[0].diagnostic.request", "should match"),
		Entry("a hex request with a non-hex character", func(ns string) client.Object {
			return jobWithStep(ns, builders.Diagnostic("raw", "22 G1 90")).Obj()
		}, "spec.steps[0].diagnostic.request", "should match"),
		Entry("a hex request split inside a byte", func(ns string) client.Object {
			return jobWithStep(ns, builders.Diagnostic("raw", "2 2F 190")).Obj()
		}, "spec.steps[0].diagnostic.request", "should match"),
		Entry("an empty request", func(ns string) client.Object {
			return jobWithStep(ns, builders.Diagnostic("raw", "   ")).Obj()
		}, "spec.steps[0].diagnostic.request", "request must hold at least one byte"),
		Entry("a request longer than 4096 bytes", func(ns string) client.Object {
			return jobWithStep(ns, builders.Diagnostic("raw", diagv1.NewHexBytes(make([]byte, 4097)))).Obj()
		}, "spec.steps[0].diagnostic.request", "Too long"),
		Entry("writeDataByIdentifier without data", func(ns string) client.Object {
			return jobWithStep(ns, builders.WriteDID("write", 0xF199, "")).Obj()
		}, "spec.steps[0].uds.writeDataByIdentifier.data", "data must hold at least one byte"),
		Entry("routing activation oemData of 3 bytes", func(ns string) client.Object {
			return jobWithStep(ns, builders.RoutingActivation("act", 0, "01 02 03")).Obj()
		}, "spec.steps[0].routingActivation.oemData", "oemData must be exactly 4 bytes"),
		Entry("an expected response that is not hex", func(ns string) client.Object {
			return jobWithStep(ns, builders.ReadDID("vin", 0xF190).ExpectResponsePrefix("62 F1 9O")).Obj()
		}, "spec.steps[0].expect.responsePrefix", "should match"),

		// Durations.
		Entry("a timeout that is not a duration", func(ns string) client.Object {
			return raw(validJob(ns).Obj(), func(o map[string]any) {
				field(o, "spec", "steps", 0)["timeout"] = "5 seconds"
			})
		}, "spec.steps[0].timeout", "should match"),
		Entry("a negative timeout", func(ns string) client.Object {
			return raw(validJob(ns).Obj(), func(o map[string]any) {
				field(o, "spec", "steps", 0)["timeout"] = "-1s"
			})
		}, "spec.steps[0].timeout", "should match"),
		Entry("a zero timeout", func(ns string) client.Object {
			return validJob(ns).Step(builders.TesterPresent("tp").Timeout(0)).Obj()
		}, "spec.steps[1].timeout", "timeout must be longer than zero"),
		Entry("a delay in days", func(ns string) client.Object {
			return raw(jobWithStep(ns, builders.Delay("wait", time.Second)).Obj(), func(o map[string]any) {
				field(o, "spec", "steps", 0, "delay")["duration"] = "1d"
			})
		}, "spec.steps[0].delay.duration", "should match"),
		Entry("a delay without duration", func(ns string) client.Object {
			return raw(jobWithStep(ns, builders.Delay("wait", time.Second)).Obj(), func(o map[string]any) {
				delete(field(o, "spec", "steps", 0, "delay"), "duration")
			})
		}, "spec.steps[0].delay.duration", "Required value"),
		Entry("a reconnect closeDelay that is not a duration", func(ns string) client.Object {
			return raw(jobWithStep(ns, builders.Reconnect("again", time.Second)).Obj(), func(o map[string]any) {
				field(o, "spec", "steps", 0, "reconnect")["closeDelay"] = "soon"
			})
		}, "spec.steps[0].reconnect.closeDelay", "should match"),

		// Enums.
		Entry("an unknown ECU reset type", func(ns string) client.Object {
			return jobWithStep(ns, builders.ECUReset("reset", "warm")).Obj()
		}, "spec.steps[0].uds.ecuReset.type", "Unsupported value", `"warm"`),
		Entry("an unknown routine control type", func(ns string) client.Object {
			return jobWithStep(ns, builders.RoutineControl("erase", "begin", 0xFF00, "")).Obj()
		}, "spec.steps[0].uds.routineControl.type", "Unsupported value"),
		Entry("readDTCInformation sub-function 3", func(ns string) client.Object {
			s := builders.ReadDTCs("dtc", 0xFF)
			s.UDS.ReadDTCInformation.SubFunction = 3
			return jobWithStep(ns, s).Obj()
		}, "spec.steps[0].uds.readDTCInformation.subFunction", "Unsupported value"),

		// UDS parameters.
		Entry("an even security access level", func(ns string) client.Object {
			return jobWithStep(ns, builders.SecurityAccess("unlock", 2, "")).Obj()
		}, "spec.steps[0].uds.securityAccess.level", "level must be odd"),
		Entry("security access level 0x81", func(ns string) client.Object {
			return jobWithStep(ns, builders.SecurityAccess("unlock", 0x81, "")).Obj()
		}, "spec.steps[0].uds.securityAccess.level", "less than or equal to 127"),
		Entry("an unknown session name", func(ns string) client.Object {
			return jobWithStep(ns, builders.SessionControl("session", "boot")).Obj()
		}, "spec.steps[0].uds.sessionControl.session", "session must be default, programming, extended, safety"),
		Entry("session number 128", func(ns string) client.Object {
			return jobWithStep(ns, builders.SessionControl("session", "128")).Obj()
		}, "spec.steps[0].uds.sessionControl.session", "session must be"),
		Entry("session number 0x80", func(ns string) client.Object {
			return jobWithStep(ns, builders.SessionControl("session", "0x80")).Obj()
		}, "spec.steps[0].uds.sessionControl.session", "session must be"),
		Entry("session number 0", func(ns string) client.Object {
			return jobWithStep(ns, builders.SessionControl("session", "0")).Obj()
		}, "spec.steps[0].uds.sessionControl.session", "session must be"),
		Entry("a DID above 0xFFFF", func(ns string) client.Object {
			return jobWithStep(ns, builders.ReadDID("did", 0x10000)).Obj()
		}, "spec.steps[0].uds.readDataByIdentifier.did", "less than or equal to 65535"),
		Entry("a routine id above 0xFFFF", func(ns string) client.Object {
			return jobWithStep(ns, builders.RoutineControl("erase", diagv1.RoutineStart, 0x10000, "")).Obj()
		}, "spec.steps[0].uds.routineControl.id", "less than or equal to 65535"),
		Entry("a DTC status mask above 0xFF", func(ns string) client.Object {
			return jobWithStep(ns, builders.ReadDTCs("dtc", 0x100)).Obj()
		}, "spec.steps[0].uds.readDTCInformation.statusMask", "less than or equal to 255"),
		Entry("a DTC group above 0xFFFFFF", func(ns string) client.Object {
			return jobWithStep(ns, builders.ClearDTCs("clear", 0x1000000)).Obj()
		}, "spec.steps[0].uds.clearDiagnosticInformation.group", "less than or equal to 16777215"),
		Entry("a diagnostic target address 0", func(ns string) client.Object {
			return jobWithStep(ns, builders.DiagnosticTo("raw", "3E 00", 0)).Obj()
		}, "spec.steps[0].diagnostic.targetAddress", "greater than or equal to 1"),

		// DoIP parameters of steps.
		Entry("a VIN of 16 characters", func(ns string) client.Object {
			return jobWithStep(ns, builders.VehicleIdentificationByVIN("id", "WAUZZZ8V5KA00000")).Obj()
		}, "spec.steps[0].vehicleIdentification.vin", "vin must be exactly 17 letters or digits"),
		Entry("a VIN of 18 characters", func(ns string) client.Object {
			return jobWithStep(ns, builders.VehicleIdentificationByVIN("id", "WAUZZZ8V5KA0000012")).Obj()
		}, "spec.steps[0].vehicleIdentification.vin", "Too long"),
		Entry("a VIN with punctuation", func(ns string) client.Object {
			return jobWithStep(ns, builders.VehicleIdentificationByVIN("id", "WAUZZZ8V5KA-00001")).Obj()
		}, "spec.steps[0].vehicleIdentification.vin", "vin must be exactly 17 letters or digits"),
		Entry("an EID of 5 bytes", func(ns string) client.Object {
			return jobWithStep(ns, builders.VehicleIdentificationByEID("id", "00 1A 2B 3C 4D")).Obj()
		}, "spec.steps[0].vehicleIdentification.eid", "eid must be exactly 6 bytes"),
		Entry("both VIN and EID", func(ns string) client.Object {
			s := builders.VehicleIdentificationByVIN("id", "WAUZZZ8V5KA000001")
			s.VehicleIdentification.EID = "00 1A 2B 3C 4D 5E"
			return jobWithStep(ns, s).Obj()
		}, "spec.steps[0].vehicleIdentification", "set at most one of vin or eid"),
		Entry("a routing activation type above 255", func(ns string) client.Object {
			return jobWithStep(ns, builders.RoutingActivation("act", 256, "")).Obj()
		}, "spec.steps[0].routingActivation.type", "less than or equal to 255"),

		// Expectations.
		Entry("an NRC above 0xFF", func(ns string) client.Object {
			return jobWithStep(ns, builders.ReadDID("did", 0x1234).ExpectNRC(0x100)).Obj()
		}, "spec.steps[0].expect.nrc", "less than or equal to 255"),
		Entry("an NRC with a positive response", func(ns string) client.Object {
			return jobWithStep(ns, builders.ReadDID("did", 0x1234).ExpectNRC(0x31).ExpectPositive()).Obj()
		}, "spec.steps[0].expect", "expect.nrc expects a negative response"),

		// ECU.
		Entry("logicalAddress 0", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).LogicalAddress(0).Obj()
		}, "spec.logicalAddress", "greater than or equal to 1"),
		Entry("logicalAddress 65536", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).LogicalAddress(65536).Obj()
		}, "spec.logicalAddress", "less than or equal to 65535"),
		Entry("protocolVersion 5", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).ProtocolVersion(5).Obj()
		}, "spec.protocolVersion", "less than or equal to 4"),
		Entry("port 65536", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).Port(65536).Obj()
		}, "spec.port", "less than or equal to 65535"),
		Entry("testerAddress 65536", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).TesterAddress(65536).Obj()
		}, "spec.testerAddress", "less than or equal to 65535"),
		Entry("an empty address", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).Address("").Obj()
		}, "spec.address", "at least 1 chars long"),
		Entry("an address with a port", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).Address("127.0.0.1:13400").Obj()
		}, "spec.address", "without port: set spec.port"),
		Entry("an address in URL form", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).Address("tcp://10.0.0.2").Obj()
		}, "spec.address", "address must be a host name"),
		Entry("an ECU routing activation oemData of 3 bytes", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).RoutingActivation(0, "01 02 03").Obj()
		}, "spec.routingActivation.oemData", "oemData must be exactly 4 bytes"),
		Entry("an ECU routing activation type above 255", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).RoutingActivation(0x100, "").Obj()
		}, "spec.routingActivation.type", "less than or equal to 255"),
		Entry("an unknown probe method", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).Probe("Ping").Obj()
		}, "spec.probe.method", "Unsupported value", `"Ping"`),
		Entry("a negative probe period", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).ProbeTiming(-1, 0, 0).Obj()
		}, "spec.probe.periodSeconds", "greater than or equal to 1"),
		Entry("a probe timeout longer than its period", func(ns string) client.Object {
			return builders.MakeECU("invalid", ns).ProbeTiming(5, 10, 0).Obj()
		}, "spec.probe", "probe.timeoutSeconds must not exceed probe.periodSeconds"),
		Entry("a TLS secretRef without name", func(ns string) client.Object {
			e := builders.MakeECU("invalid", ns).TLS(0, "x").Obj()
			e.Spec.TLS.SecretRef.Name = ""
			return e
		}, "spec.tls", "tls.secretRef.name must name a Secret"),
		Entry("a TLS port of 0 written explicitly", func(ns string) client.Object {
			return raw(builders.MakeECU("invalid", ns).TLS(0, "").Obj(), func(o map[string]any) {
				field(o, "spec", "tls")["port"] = int64(0)
			})
		}, "spec.tls.port", "greater than or equal to 1"),

		// DiagnosticAgent.
		Entry("maxConcurrentJobs -1", func(string) client.Object {
			return builders.MakeAgent("invalid").MaxConcurrentJobs(-1).Obj()
		}, "spec.maxConcurrentJobs", "greater than or equal to 1"),
	)
})
