package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticschedules,verbs=get;list;watch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticschedules/status,verbs=patch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticschedules/finalizers,verbs=update
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticjobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ScheduleReconciler creates a DiagnosticSchedule's runs at its ticks, applies its concurrency
// policy, deadline, suspension and history limits, and writes its status once per pass. Run
// and job names follow from schedule, tick and ECU alone, so a restart never doubles a run.
type ScheduleReconciler struct {
	client    client.Client
	apiReader client.Reader
	recorder  events.EventRecorder
	opts      Options
}

// setupSchedules adds the DiagnosticSchedule controller to a manager that SetupWithManager set up.
func setupSchedules(mgr ctrl.Manager, opts Options) error {
	r := &ScheduleReconciler{client: mgr.GetClient(), apiReader: mgr.GetAPIReader(),
		recorder: mgr.GetEventRecorder(eventSource), opts: opts.withDefaults()}
	err := ctrl.NewControllerManagedBy(mgr).
		Named("diagnosticschedule").
		For(&diagv1.DiagnosticSchedule{}).
		Owns(&diagv1.DiagnosticJob{}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("setting up the DiagnosticSchedule controller: %w", err)
	}
	return nil
}

// Reconcile handles the due tick of one schedule, if any, and requeues for the next one.
func (r *ScheduleReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var s diagv1.DiagnosticSchedule
	if err := r.client.Get(ctx, req.NamespacedName, &s); err != nil {
		if apierrors.IsNotFound(err) {
			forgetSchedule(req.Namespace, req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if !s.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	now := r.opts.Clock.Now()
	jobs, err := r.scheduleJobs(ctx, &s)
	if err != nil {
		return reconcile.Result{}, err
	}
	sched, parseErr := parseSchedule(&s.Spec)
	var d scheduleDecision
	if parseErr == nil {
		d = decideSchedule(&s, sched, groupRuns(jobs), now)
	}
	if parseErr == nil && !d.tick.IsZero() {
		// A tick is due by the cache's copy, which may lag behind a status this controller
		// just wrote: decide again on the API server's copy before acting.
		if err := r.apiReader.Get(ctx, req.NamespacedName, &s); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		if sched, parseErr = parseSchedule(&s.Spec); parseErr == nil {
			d = decideSchedule(&s, sched, groupRuns(jobs), now)
		}
	}
	if parseErr != nil {
		runs := groupRuns(jobs)
		return reconcile.Result{}, r.writeStatus(ctx, &s, scheduleStatus(s.Status, s.Generation, runs, time.Time{}, parseErr, now), runs)
	}
	if jobs, err = r.act(ctx, &s, d, jobs); err != nil {
		return reconcile.Result{}, err
	}
	runs := groupRuns(jobs)
	if err := r.writeStatus(ctx, &s, scheduleStatus(s.Status, s.Generation, runs, d.tick, nil, now), runs); err != nil {
		if apierrors.IsConflict(err) {
			// The cache lagged behind a newer copy: decide again on it shortly.
			return reconcile.Result{RequeueAfter: conflictRequeue}, nil
		}
		return reconcile.Result{}, err
	}
	if d.next.IsZero() {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{RequeueAfter: max(d.next.Sub(now), 10*time.Millisecond)}, nil
}

// scheduleJobs lists the jobs the schedule owns (by label, then by controller reference).
func (r *ScheduleReconciler) scheduleJobs(ctx context.Context, s *diagv1.DiagnosticSchedule) ([]diagv1.DiagnosticJob, error) {
	var list diagv1.DiagnosticJobList
	if err := r.client.List(ctx, &list, client.InNamespace(s.Namespace), client.MatchingLabels{diagv1.ScheduleLabel: s.Name}); err != nil {
		return nil, fmt.Errorf("listing the jobs of DiagnosticSchedule %s/%s: %w", s.Namespace, s.Name, err)
	}
	return slices.DeleteFunc(list.Items, func(j diagv1.DiagnosticJob) bool {
		ref := metav1.GetControllerOf(&j)
		return ref == nil || ref.UID != s.UID
	}), nil
}

// act carries a decision out and returns the jobs as they are afterwards (created added,
// deleted removed), so that the status written next counts them.
func (r *ScheduleReconciler) act(ctx context.Context, s *diagv1.DiagnosticSchedule, d scheduleDecision, jobs []diagv1.DiagnosticJob) ([]diagv1.DiagnosticJob, error) {
	log := ctrl.LoggerFrom(ctx)
	deleted := map[string]bool{}
	del := func(list []*diagv1.DiagnosticJob, why string) error {
		for _, j := range list {
			err := r.client.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &j.UID})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting DiagnosticJob %s/%s (%s): %w", j.Namespace, j.Name, why, err)
			}
			deleted[j.Name] = true
		}
		return nil
	}
	if err := del(d.prune, "beyond the history limits"); err != nil {
		return nil, err
	}
	skip := d.skip
	if d.create {
		if err := del(d.replace, "replaced by a new run"); err != nil {
			return nil, err
		}
		if len(d.replace) > 0 {
			r.recorder.Eventf(s, nil, "Normal", "Replaced", "DeleteRun", "Deleted %d unfinished jobs of earlier runs (concurrencyPolicy Replace)", len(d.replace))
		}
		created, err := r.createRun(ctx, s, d.tick)
		if errors.Is(err, errNoMatchingEcu) {
			skip = diagv1.ReasonNoMatchingEcu
		} else if err != nil {
			return nil, err
		}
		for _, j := range created {
			jobs = append(jobs, *j)
		}
		if len(created) > 0 {
			id := ScheduleRunID(s.Name, d.tick)
			countScheduleTick(s.Namespace, s.Name, "")
			log.Info("Created a scheduled run", "schedule", s.Name, "run", id, "jobs", len(created), "tick", d.tick)
			r.recorder.Eventf(s, nil, "Normal", "RunCreated", "CreateRun", "Created run %s with %d jobs for tick %s", id, len(created), d.tick.UTC().Format(time.RFC3339))
		}
	}
	if skip != "" {
		countScheduleTick(s.Namespace, s.Name, skip)
		log.Info("Skipped a tick", "schedule", s.Name, "reason", skip, "tick", d.tick)
		r.recorder.Eventf(s, nil, "Normal", "Skipped", "SkipRun", "Skipped tick %s: %s", d.tick.UTC().Format(time.RFC3339), skip)
	}
	return slices.DeleteFunc(jobs, func(j diagv1.DiagnosticJob) bool { return deleted[j.Name] }), nil
}

// conflictRequeue is how soon a pass whose status write met a newer copy runs again.
const conflictRequeue = 100 * time.Millisecond

// errNoMatchingEcu: forEachECU matched no ECU, so the tick has no run.
var errNoMatchingEcu = errors.New("forEachECU matches no ECU")

// createRun creates the jobs of the tick's run; a job that already exists was created by an
// earlier pass (before a restart) and is left alone. It returns the jobs it created.
func (r *ScheduleReconciler) createRun(ctx context.Context, s *diagv1.DiagnosticSchedule, tick time.Time) ([]*diagv1.DiagnosticJob, error) {
	ecus, err := ScheduleTargets(ctx, r.client, s)
	if err != nil {
		return nil, err
	}
	var created []*diagv1.DiagnosticJob
	for _, j := range ScheduleRunJobs(s, tick, ecus) {
		if err := r.client.Create(ctx, j); err != nil {
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return nil, fmt.Errorf("creating DiagnosticJob %s/%s of DiagnosticSchedule %s: %w (check spec.jobTemplate against the DiagnosticJob rules)", j.Namespace, j.Name, s.Name, err)
		}
		created = append(created, j)
	}
	return created, nil
}

// ScheduleTargets lists the ECUs a forEachECU schedule fans out over, sorted by name: those of
// its namespace matching forEachECU.selector and, when set, the template's ecuSelector. It
// returns nil for a schedule without forEachECU, and an error wrapping errNoMatchingEcu when
// none matches.
func ScheduleTargets(ctx context.Context, c client.Reader, s *diagv1.DiagnosticSchedule) ([]string, error) {
	if s.Spec.ForEachECU == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&s.Spec.ForEachECU.Selector)
	if err != nil {
		return nil, fmt.Errorf("spec.forEachECU.selector of DiagnosticSchedule %s/%s: %w", s.Namespace, s.Name, err)
	}
	narrow := labels.Everything()
	if ts := s.Spec.JobTemplate.Spec.ECUSelector; ts != nil {
		if narrow, err = metav1.LabelSelectorAsSelector(ts); err != nil {
			return nil, fmt.Errorf("spec.jobTemplate.spec.ecuSelector of DiagnosticSchedule %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	var list diagv1.ECUList
	if err := c.List(ctx, &list, client.InNamespace(s.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("listing the ECUs of DiagnosticSchedule %s/%s: %w", s.Namespace, s.Name, err)
	}
	var names []string
	for _, e := range list.Items {
		if narrow.Matches(labels.Set(e.Labels)) {
			names = append(names, e.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("DiagnosticSchedule %s/%s: %w in namespace %s (check the ECUs' labels)", s.Namespace, s.Name, errNoMatchingEcu, s.Namespace)
	}
	slices.Sort(names)
	return names, nil
}

// writeStatus patches the status when it changed and sets the last-run-failed gauge.
func (r *ScheduleReconciler) writeStatus(ctx context.Context, s *diagv1.DiagnosticSchedule, st diagv1.DiagnosticScheduleStatus, runs []*scheduleRun) error {
	if last := lastFinishedRun(runs); last != nil {
		scheduleLastRunFailedMetric.WithLabelValues(s.Namespace, s.Name).Set(float64(last.failed))
	}
	updated := s.DeepCopy()
	updated.Status = st
	if _, err := patch.Write(ctx, r.client, s, updated, patch.Options{Status: true}); err != nil {
		if apierrors.IsConflict(err) {
			return err
		}
		return fmt.Errorf("writing the status of DiagnosticSchedule %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}
