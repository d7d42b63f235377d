package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/report"
)

// cliResult is one finished ecufleet CLI process.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cli runs the suite's binary (or bin, e.g. a kubectl-ecufleet link) with args to its end.
func cli(ctx context.Context, bin string, args ...string) cliResult {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		Expect(err).NotTo(HaveOccurred())
	}
	fmt.Fprintf(GinkgoWriter, "ecufleet %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return cliResult{code, out.String(), errOut.String()}
}

// syncBuffer is a bytes.Buffer that a process writes while the spec reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func metaOf(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

// writeFile writes a job file into the spec's temporary directory.
func writeFile(dir, name, text string) string {
	GinkgoHelper()
	p := filepath.Join(dir, name)
	Expect(os.WriteFile(p, []byte(text), 0o644)).To(Succeed())
	return p
}

// jobsIn lists the jobs in ns, by name.
func jobsIn(ctx context.Context, ns string) map[string]diagv1.DiagnosticJob {
	GinkgoHelper()
	var l diagv1.DiagnosticJobList
	Expect(k8s.List(ctx, &l, client.InNamespace(ns))).To(Succeed())
	m := map[string]diagv1.DiagnosticJob{}
	for _, j := range l.Items {
		m[j.Name] = j
	}
	return m
}

const passJob = `apiVersion: diag.ecufleet.io/v1alpha1
kind: DiagnosticJob
metadata:
  name: vin
  labels: {suite: smoke}
spec:
  ecuRef: {name: ecu-0}
  steps:
  - name: session
    uds: {sessionControl: {session: extended}}
  - name: vin
    uds: {readDataByIdentifier: {did: 0xF190}}
`

const failJob = `apiVersion: diag.ecufleet.io/v1alpha1
kind: DiagnosticJob
metadata:
  name: wrong-vin
spec:
  ecuRef: {name: ecu-0}
  steps:
  - name: vin
    uds: {readDataByIdentifier: {did: 0xF190}}
    expect: {value: NOT-THIS-VIN}
  - name: after
    uds: {testerPresent: {}}
`

const holdJob = `apiVersion: diag.ecufleet.io/v1alpha1
kind: DiagnosticJob
metadata:
  name: hold
spec:
  ecuRef: {name: ecu-0}
  steps:
  - name: hold
    delay: {duration: 60s}
`

var _ = Describe("ecufleet run, wait and results from CI", Ordered, func() {
	var (
		ns  string
		dir string
		s   *sim
	)
	BeforeAll(func(ctx SpecContext) {
		ns = newNamespace(ctx, "cli")
		s = startSims(ctx, ns, 1)[0]
		dir = GinkgoT().TempDir()
	}, NodeTimeout(2*time.Minute))

	It("exits 0 for a passing job, writes JUnit, and creates a new job on every run", func(ctx SpecContext) {
		f := writeFile(dir, "pass.yaml", passJob)
		xmlPath := filepath.Join(dir, "report.xml")
		r := cli(ctx, ps.Bin, "run", "-f", f, "-n", ns, "--junit", xmlPath, "--timeout", "60s")
		Expect(r.code).To(Equal(report.ExitSucceeded), r.stderr)
		Expect(r.stdout).To(MatchRegexp(`(?m)^diagnosticjob/vin-[a-z0-9]{5} created \(run `))
		Expect(r.stdout).To(ContainSubstring("  vin  Passed  "))
		Expect(r.stdout).To(ContainSubstring(s.vin))

		raw, err := os.ReadFile(xmlPath)
		Expect(err).NotTo(HaveOccurred())
		var doc report.TestSuites
		Expect(xml.Unmarshal(raw, &doc)).To(Succeed())
		Expect(doc.Tests).To(Equal(2))
		Expect(doc.Suites).To(HaveLen(1))
		suite := doc.Suites[0]
		Expect(suite.Name).To(HavePrefix(ns + "/vin-"))
		Expect(suite.Tests).To(Equal(2))
		Expect([]int{suite.Failures, suite.Errors, suite.Skipped}).To(Equal([]int{0, 0, 0}))
		Expect(suite.Hostname).To(Equal("ecu-0"))
		Expect(suite.Timestamp).To(MatchRegexp(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`))
		props := map[string]string{}
		for _, p := range suite.Properties {
			props[p.Name] = p.Value
		}
		Expect(props).To(HaveKeyWithValue("ecu", "ecu-0"))
		Expect(props).To(HaveKeyWithValue("attempts", "1"))
		Expect(props).To(HaveKeyWithValue("reason", diagv1.ReasonSucceeded))
		Expect(props).To(HaveKeyWithValue("suite", "smoke"))
		Expect(props).To(HaveKey("agent"))
		Expect(props).To(HaveKey("vin"))
		Expect(props).To(HaveKey("diag.ecufleet.io/run"))
		Expect(suite.Cases).To(HaveLen(2))
		Expect(suite.Cases[1].Classname).To(Equal(strings.TrimPrefix(suite.Name, ns+"/")))
		Expect(suite.Cases[1].Name).To(Equal("vin"))
		Expect(suite.Cases[1].Failure).To(BeNil())
		Expect(suite.Cases[1].SystemOut).To(ContainSubstring("request: 22 F1 90"))

		Expect(cli(ctx, ps.Bin, "run", "-f", f, "-n", ns).code).To(Equal(report.ExitSucceeded))
		n := 0
		for name := range jobsIn(ctx, ns) {
			if strings.HasPrefix(name, "vin-") {
				n++
			}
		}
		Expect(n).To(Equal(2), "two runs of one file make two jobs")
	}, NodeTimeout(2*time.Minute))

	It("exits 1 when the ECU answers wrongly, with a JUnit failure", func(ctx SpecContext) {
		xmlPath := filepath.Join(dir, "fail.xml")
		r := cli(ctx, ps.Bin, "run", "-f", writeFile(dir, "fail.yaml", failJob), "-n", ns, "--junit", xmlPath)
		Expect(r.code).To(Equal(report.ExitStepFailed))
		raw, err := os.ReadFile(xmlPath)
		Expect(err).NotTo(HaveOccurred())
		var doc report.TestSuites
		Expect(xml.Unmarshal(raw, &doc)).To(Succeed())
		Expect(doc.Suites[0].Failures).To(Equal(1))
		Expect(doc.Suites[0].Skipped).To(Equal(1))
		Expect(doc.Suites[0].Cases[0].Failure).NotTo(BeNil())
		Expect(doc.Suites[0].Cases[0].Failure.Message).To(ContainSubstring("NOT-THIS-VIN"))
	}, NodeTimeout(time.Minute))

	It("exits 2 when --timeout passes and when the job is deleted by someone else", func(ctx SpecContext) {
		nowhere := writeFile(dir, "nowhere.yaml", strings.Replace(passJob, "ecu-0", "no-such-ecu", 1))
		r := cli(ctx, ps.Bin, "run", "-f", nowhere, "-n", ns, "--timeout", "2s")
		Expect(r.code).To(Equal(report.ExitNoVerdict))
		Expect(r.stdout).To(ContainSubstring("Timed out after 2s"))

		cmd := exec.CommandContext(ctx, ps.Bin, "run", "-f", nowhere, "-n", ns, "--timeout", "60s")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		out := &syncBuffer{}
		cmd.Stdout = out
		Expect(cmd.Start()).To(Succeed())
		var name string
		Eventually(func() string {
			name, _, _ = strings.Cut(strings.TrimPrefix(out.String(), "diagnosticjob/"), " ")
			return name
		}).Should(HavePrefix("vin-"))
		Expect(k8s.Delete(ctx, &diagv1.DiagnosticJob{ObjectMeta: metaOf(ns, name)})).To(Succeed())
		err := cmd.Wait()
		var exit *exec.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue(), "exit 0 after the job was deleted:\n%s", out.String())
		Expect(exit.ExitCode()).To(Equal(report.ExitNoVerdict))
		Expect(out.String()).To(ContainSubstring("Cancelled"))
	}, NodeTimeout(time.Minute))

	It("exits 3 and creates nothing for an unknown field, another kind, or a field the server refuses", func(ctx SpecContext) {
		before := len(jobsIn(ctx, ns))
		typo := writeFile(dir, "typo.yaml", passJob+"---\n"+strings.Replace(passJob, "steps:", "stepz:", 1))
		r := cli(ctx, ps.Bin, "run", "-f", typo, "-n", ns)
		Expect(r.code).To(Equal(report.ExitNothingRun))
		Expect(r.stderr).To(ContainSubstring("typo.yaml, document 2"))
		Expect(r.stderr).To(ContainSubstring(`"stepz"`))

		cm := writeFile(dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
		r = cli(ctx, ps.Bin, "run", "-f", cm, "-n", ns)
		Expect(r.code).To(Equal(report.ExitNothingRun))
		Expect(r.stderr).To(ContainSubstring(`kind "ConfigMap"`))
		Expect(r.stderr).To(ContainSubstring("cm.yaml, document 1"))

		refused := writeFile(dir, "refused.yaml", passJob+"---\n"+strings.Replace(passJob, "spec:\n", "spec:\n  activeDeadlineSeconds: 0\n", 1))
		r = cli(ctx, ps.Bin, "run", "-f", refused, "-n", ns)
		Expect(r.code).To(Equal(report.ExitNothingRun))
		Expect(r.stderr).To(ContainSubstring("spec.activeDeadlineSeconds"))
		Expect(jobsIn(ctx, ns)).To(HaveLen(before), "a refused run created a job")

		Expect(cli(ctx, ps.Bin, "run", "--no-such-flag").code).To(Equal(report.ExitNothingRun))
	}, NodeTimeout(time.Minute))

	DescribeTable("deletes its job on a signal, exits 128+signal, and the next job on the ECU starts within seconds", func(ctx SpecContext, sig syscall.Signal, wantExit int) {
		start := func(args ...string) (*exec.Cmd, *syncBuffer) {
			cmd := exec.CommandContext(ctx, ps.Bin, args...)
			cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
			out := &syncBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			Expect(cmd.Start()).To(Succeed())
			return cmd, out
		}
		exitOf := func(cmd *exec.Cmd) int {
			var exit *exec.ExitError
			if err := cmd.Wait(); errors.As(err, &exit) {
				return exit.ExitCode()
			}
			return 0
		}
		hold, holdOut := start("run", "-f", writeFile(dir, "hold.yaml", holdJob), "-n", ns)
		Eventually(holdOut.String).Should(ContainSubstring("Running on ecu-0"))
		next, nextOut := start("run", "-f", writeFile(dir, "pass.yaml", passJob), "-n", ns, "--timeout", "60s")
		Eventually(nextOut.String).Should(ContainSubstring("queued: 1st for ecu-0"))

		Expect(hold.Process.Signal(sig)).To(Succeed())
		interrupted := time.Now()
		Expect(exitOf(hold)).To(Equal(wantExit), holdOut.String())
		Expect(holdOut.String()).To(ContainSubstring("deleting the 1 jobs of this run"))
		for name := range jobsIn(ctx, ns) {
			Expect(name).NotTo(HavePrefix("hold-"), "the interrupted run's job is still there")
		}
		Expect(exitOf(next)).To(Equal(report.ExitSucceeded), nextOut.String())
		Expect(time.Since(interrupted)).To(BeNumerically("<", 15*time.Second), "the queued job waited long after the ECU was freed")
	},
		Entry("SIGINT (Ctrl-C)", NodeTimeout(time.Minute), syscall.SIGINT, report.ExitSIGINT),
		Entry("SIGTERM (a cancelled pipeline)", NodeTimeout(time.Minute), syscall.SIGTERM, report.ExitSIGTERM),
	)

	It("detaches, then wait and results follow the run; the binary works as kubectl-ecufleet", func(ctx SpecContext) {
		plugin := filepath.Join(dir, "kubectl-ecufleet")
		Expect(os.Symlink(ps.Bin, plugin)).To(Succeed())
		help := cli(ctx, plugin, "run", "--help")
		Expect(help.code).To(Equal(0))
		Expect(help.stdout).To(ContainSubstring("kubectl ecufleet run -f PATH"))

		r := cli(ctx, plugin, "run", "-f", filepath.Join(dir, "pass.yaml"), "-f", filepath.Join(dir, "fail.yaml"), "-n", ns, "--detach")
		Expect(r.code).To(Equal(0))
		Expect(r.stdout).To(ContainSubstring("kubectl ecufleet wait -n " + ns + " -l " + "diag.ecufleet.io/run="))
		i := strings.Index(r.stdout, "diag.ecufleet.io/run=")
		sel := strings.TrimSpace(r.stdout[i:])

		w := cli(ctx, ps.Bin, "wait", "-n", ns, "-l", sel, "--timeout", "60s")
		Expect(w.code).To(Equal(report.ExitStepFailed))
		Expect(w.stdout).To(ContainSubstring("StepFailed"))

		res := cli(ctx, ps.Bin, "results", "-n", ns, "-l", sel, "-o", "junit")
		Expect(res.code).To(Equal(report.ExitStepFailed))
		var doc report.TestSuites
		Expect(xml.Unmarshal([]byte(res.stdout), &doc)).To(Succeed())
		Expect(doc.Suites).To(HaveLen(2))
		Expect(doc.Failures).To(Equal(1))

		js := cli(ctx, ps.Bin, "results", "-n", ns, "-l", sel, "-o", "json")
		Expect(js.stdout).To(ContainSubstring(`"exitCode": 1`))
	}, NodeTimeout(2*time.Minute))
})
