package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/devcluster"
	"github.com/ecufleet/ecufleet/internal/report"
)

// TestRunFromSchedule runs `ecufleet run --from schedule/NAME` against a real API server: the
// run is one job per matching ECU, labelled and owned as the schedule's runs, and the exit
// code follows the jobs' ends as for `run -f` (here a test plays the agent).
func TestRunFromSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api, err := devcluster.StartTestAPI(ctx, os.Stderr, devcluster.TestAPIOptions{Namespaces: []string{"lab"}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Env.Stop()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, api.Env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	c := api.Client
	for name, rack := range map[string]string{"bcm": "a", "gw": "a", "other": "b"} {
		if err := c.Create(ctx, builders.MakeECU(name, "lab").Label("rack", rack).Obj()); err != nil {
			t.Fatal(err)
		}
	}
	s := builders.MakeSchedule("rack", "lab", "0 2 * * *").ForEachECU(map[string]string{"rack": "a"}).
		Template(builders.MakeJob("t", "lab").ECUSelector(nil).Step(builders.ReadDID("vin", 0xF190))).Obj()
	if err := c.Create(ctx, s); err != nil {
		t.Fatal(err)
	}

	// The agent's part: bcm succeeds, gw fails a step.
	go func() {
		for ctx.Err() == nil {
			var list diagv1.DiagnosticJobList
			if c.List(ctx, &list, client.InNamespace("lab"), client.MatchingLabels{diagv1.ScheduleLabel: "rack"}) == nil && len(list.Items) == 2 {
				for i := range list.Items {
					j := &list.Items[i]
					phase, reason := diagv1.JobSucceeded, diagv1.ReasonSucceeded
					if j.Spec.ECURef.Name == "gw" {
						phase, reason = diagv1.JobFailed, diagv1.ReasonStepFailed
					}
					j.Status = diagv1.DiagnosticJobStatus{Phase: phase, Reason: reason, ECU: j.Spec.ECURef.Name, CompletionTime: &metav1.Time{Time: time.Now()}}
					j.Status.SetConditions(j.Generation, time.Now())
					_ = c.Status().Update(ctx, j)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs([]string{"run", "--from", "schedule/rack", "-n", "lab", "--kubeconfig", kc, "--timeout", "60s"})
	root.SetOut(&out)
	root.SetErr(&out)
	err = root.ExecuteContext(ctx)
	if code := exitCodeOf(err); err == nil || code != report.ExitStepFailed {
		t.Fatalf("exit %d (%v), want %d for a failed step:\n%s", code, err, report.ExitStepFailed, out.String())
	}
	var list diagv1.DiagnosticJobList
	if err := c.List(ctx, &list, client.InNamespace("lab")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("got %d jobs, want one per ECU labelled rack=a", len(list.Items))
	}
	for _, j := range list.Items {
		id := j.Labels[diagv1.RunLabel]
		if !strings.HasPrefix(id, "rack-") || j.Name != id+"-"+j.Spec.ECURef.Name || j.Labels[diagv1.ScheduleLabel] != "rack" {
			t.Errorf("job %s: labels %v", j.Name, j.Labels)
		}
		if ref := metav1.GetControllerOf(&j); ref == nil || ref.UID != s.UID {
			t.Errorf("job %s: controller %v, want the schedule", j.Name, ref)
		}
		if !strings.Contains(out.String(), "diagnosticjob/"+j.Name+" created (run "+id+")") {
			t.Errorf("output lacks the creation of %s:\n%s", j.Name, out.String())
		}
	}

	for _, tc := range []struct{ from, want string }{
		{"schedule/missing", "diagnosticschedule missing not found in namespace lab"},
		{"job/rack", `--from "job/rack": want schedule/NAME`},
	} {
		root := newRootCmd()
		root.SetArgs([]string{"run", "--from", tc.from, "-n", "lab", "--kubeconfig", kc})
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.ExecuteContext(ctx)
		if exitCodeOf(err) != report.ExitNothingRun || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--from %s: got %v, want exit 3 and %q", tc.from, err, tc.want)
		}
	}
}
