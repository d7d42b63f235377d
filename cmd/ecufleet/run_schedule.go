package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/report"
)

// runSchedule starts a run of a DiagnosticSchedule now, named, labelled and owned as the
// controller names its ticks' runs, and follows it as run follows files.
func (f *runFlags) runSchedule(cmd *cobra.Command) error {
	kind, name, ok := strings.Cut(f.from, "/")
	switch kind {
	case "schedule", "dsched", "diagnosticschedule", "diagnosticschedules":
	default:
		ok = false
	}
	if !ok || name == "" {
		return usageError(fmt.Errorf("--from %q: want schedule/NAME", f.from))
	}
	c, err := f.connect()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var s diagv1.DiagnosticSchedule
	if err := c.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: name}, &s); err != nil {
		if e := c.unreachable("read diagnosticschedule "+name, err); e != nil {
			return e
		}
		if apierrors.IsNotFound(err) {
			return exitf(report.ExitNothingRun, "diagnosticschedule %s not found in namespace %s (list them with kubectl get dsched -n %s)", name, c.namespace, c.namespace)
		}
		return exitf(report.ExitNothingRun, "read diagnosticschedule %s/%s: %v", c.namespace, name, err)
	}
	ecus, err := controllers.ScheduleTargets(ctx, c, &s)
	if err != nil {
		if e := c.unreachable("list the ECUs of diagnosticschedule "+name, err); e != nil {
			return e
		}
		return exitf(report.ExitNothingRun, "nothing to run: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	jobs := controllers.ScheduleRunJobs(&s, now, ecus)
	where := make([]string, len(jobs))
	for i, j := range jobs {
		where[i] = fmt.Sprintf("diagnosticschedule/%s job %s", name, j.Name)
	}
	return f.createAndFollow(cmd, c, controllers.ScheduleRunID(s.Name, now), jobs, where)
}
