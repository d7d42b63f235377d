package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// TestSuites is the JUnit root element that GitLab, Jenkins and GitHub test reporters read.
type TestSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []TestSuite `xml:"testsuite"`
}

// TestSuite is one DiagnosticJob: its steps are the test cases, its ECU the host.
type TestSuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	Hostname   string     `xml:"hostname,attr"`
	Properties []Property `xml:"properties>property"`
	Cases      []TestCase `xml:"testcase"`
}

// Property is one name/value of a suite: the ECU, agent, VIN, attempts, reason and labels.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// TestCase is one step of a job.
type TestCase struct {
	Classname string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *Outcome `xml:"failure,omitempty"`
	Error     *Outcome `xml:"error,omitempty"`
	Skipped   *Outcome `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Outcome is a failure, error or skip: a one-line message and, for failures and errors, a
// type and a longer text.
type Outcome struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// timestampLayout is ISO 8601 without a zone, as the Jenkins JUnit schema requires; times are UTC.
const timestampLayout = "2006-01-02T15:04:05"

// VINs maps "namespace/ecu" to the ECU's VIN, for the vin property; a missing entry is empty.
type VINs map[string]string

// Build turns jobs into the JUnit document, one suite per job in the order given.
func Build(jobs []diagv1.DiagnosticJob, vins VINs) *TestSuites {
	root := &TestSuites{}
	var total time.Duration
	for i := range jobs {
		s, d := buildSuite(&jobs[i], vins)
		root.Suites = append(root.Suites, s)
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
		total += d
	}
	root.Time = seconds(total)
	return root
}

// WriteJUnit writes jobs as an indented JUnit XML document to w.
func WriteJUnit(w io.Writer, jobs []diagv1.DiagnosticJob, vins VINs) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(Build(jobs, vins)); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// buildSuite is one job's suite and its duration.
func buildSuite(j *diagv1.DiagnosticJob, vins VINs) (TestSuite, time.Duration) {
	st := &j.Status
	s := TestSuite{Name: j.Namespace + "/" + j.Name, Hostname: st.ECU}
	if s.Hostname == "" {
		s.Hostname = "none" // the job never got an ECU; the schema wants a host
	}
	results := map[string]*diagv1.StepStatus{}
	for k := range st.Steps {
		results[st.Steps[k].Name] = &st.Steps[k]
	}
	var stepTotal time.Duration
	for _, step := range j.Spec.Steps {
		r := results[step.Name]
		if r == nil {
			r = &diagv1.StepStatus{Name: step.Name, Phase: diagv1.StepPending}
		}
		c := buildCase(j, r)
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
		stepTotal += time.Duration(r.DurationMillis) * time.Millisecond
	}
	s.Tests = len(s.Cases)
	d := stepTotal
	if st.StartTime != nil && st.CompletionTime != nil && st.CompletionTime.After(st.StartTime.Time) {
		d = st.CompletionTime.Sub(st.StartTime.Time)
	}
	s.Time = seconds(d)
	switch {
	case st.StartTime != nil:
		s.Timestamp = st.StartTime.UTC().Format(timestampLayout)
	case !j.CreationTimestamp.IsZero():
		s.Timestamp = j.CreationTimestamp.UTC().Format(timestampLayout)
	}
	s.Properties = properties(j, vins)
	return s, d
}

// properties are the fixed ones first, then every label of the job sorted by key.
func properties(j *diagv1.DiagnosticJob, vins VINs) []Property {
	st := &j.Status
	ps := []Property{
		{Name: "ecu", Value: st.ECU},
		{Name: "agent", Value: st.Agent},
		{Name: "vin", Value: vins[j.Namespace+"/"+st.ECU]},
		{Name: "attempts", Value: strconv.Itoa(int(st.Attempts))},
		{Name: "reason", Value: st.Reason},
	}
	keys := make([]string, 0, len(j.Labels))
	for k := range j.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps = append(ps, Property{Name: k, Value: j.Labels[k]})
	}
	return ps
}

// buildCase classifies one step: a Failed step the ECU answered (or that failed its
// expectation in a job failed by a step) is a failure; a step without a verdict because the
// job ended on an infrastructure fault, a deadline or a cancellation is an error; Skipped, and
// steps never reached behind a failed step, are skipped.
func buildCase(j *diagv1.DiagnosticJob, r *diagv1.StepStatus) TestCase {
	c := TestCase{
		Classname: j.Name,
		Name:      r.Name,
		Time:      seconds(time.Duration(r.DurationMillis) * time.Millisecond),
		SystemOut: systemOut(r),
	}
	noVerdict := NoVerdict(&j.Status)
	switch r.Phase {
	case diagv1.StepPassed:
	case diagv1.StepSkipped:
		c.Skipped = &Outcome{Message: r.Message}
	case diagv1.StepFailed:
		if noVerdict && r.Response == "" && r.NRC == "" {
			c.Error = infraError(j, r)
			break
		}
		msg := r.NRC
		if msg == "" {
			msg = r.Message
		}
		if msg == "" {
			msg = "step failed"
		}
		c.Failure = &Outcome{Message: msg, Type: "StepFailed", Text: r.Message}
	default: // Pending, Running: never got a verdict
		if noVerdict && j.Status.Phase != diagv1.JobSucceeded {
			c.Error = infraError(j, r)
		} else {
			c.Skipped = &Outcome{Message: "not run: an earlier step failed"}
		}
	}
	return c
}

// infraError is the <error> of a step the job's end left without a verdict.
func infraError(j *diagv1.DiagnosticJob, r *diagv1.StepStatus) *Outcome {
	reason := j.Status.Reason
	if reason == "" {
		reason = string(j.Status.Phase)
	}
	if reason == "" {
		reason = "NotFinished"
	}
	text := r.Message
	if text == "" {
		text = j.Status.Message
	}
	return &Outcome{Message: "no verdict: " + reason, Type: reason, Text: text}
}

// systemOut is the step's bytes on the wire, one line each.
func systemOut(r *diagv1.StepStatus) string {
	var b strings.Builder
	if r.Request != "" {
		b.WriteString("request: " + r.Request + "\n")
	}
	if r.Response != "" {
		b.WriteString("response: " + r.Response + "\n")
	}
	if r.Value != "" {
		b.WriteString("value: " + r.Value + "\n")
	}
	return b.String()
}

// seconds formats d as JUnit wants it: seconds with millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
