package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticjobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus,verbs=get;list;watch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus/status,verbs=patch

// HealthReconciler runs the health checks of ECUs with spec.healthCheck: it creates each check
// as a DiagnosticJob owned by the ECU when it falls due, deletes old ones, and is the only
// writer of the ECU's Healthy condition (the ECU roll-up reads it into Ready, the scheduler
// into the queue). The checks run like any job; the queue puts them first.
type HealthReconciler struct {
	client   client.Client
	recorder events.EventRecorder
	opts     Options
}

// Reconcile brings one ECU's health check up to date: the Healthy condition from its finished
// checks, the next check when it is due (else a timer for then), and the history pruned.
func (r *HealthReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var ecu diagv1.ECU
	if err := r.client.Get(ctx, req.NamespacedName, &ecu); err != nil {
		if apierrors.IsNotFound(err) {
			reportHealthy(req.NamespacedName, false, true)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	var list diagv1.DiagnosticJobList
	if err := r.client.List(ctx, &list, client.InNamespace(ecu.Namespace),
		client.MatchingFields{healthJobIndex: healthLabelValue(ecu.Name)}); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing the health jobs of ECU %s: %w", req, err)
	}
	jobs := make([]*diagv1.DiagnosticJob, 0, len(list.Items))
	for i := range list.Items {
		jobs = append(jobs, &list.Items[i])
	}
	h := newHealthHistory(ecu.Name, jobs)
	if ecu.Spec.HealthCheck == nil {
		reportHealthy(req.NamespacedName, false, true)
		return reconcile.Result{}, r.stopChecks(ctx, &ecu, h)
	}

	now := r.opts.Clock.Now()
	updated := ecu.DeepCopy()
	verdict := healthVerdict(&ecu, h, now)
	meta.SetStatusCondition(&updated.Status.Conditions, verdict)
	if err := patchCondition(ctx, r.client, r.recorder, &ecu, updated, ecu.Status.Conditions, updated.Status.Conditions, diagv1.ConditionHealthy); err != nil {
		return reconcile.Result{}, fmt.Errorf("writing the Healthy condition of ECU %s: %w", req, err)
	}
	reportHealthy(req.NamespacedName, verdict.Status == metav1.ConditionTrue, false)

	errs := []error{r.deleteJobs(ctx, h.expired(&ecu))}
	due, ok := h.due(&ecu)
	switch {
	case !ok: // a check is unfinished; its watch event brings the ECU back
	case now.Before(due):
		return reconcile.Result{RequeueAfter: max(due.Sub(now), minWake)}, errors.Join(errs...)
	default:
		errs = append(errs, r.startCheck(ctx, &ecu, due))
	}
	return reconcile.Result{}, errors.Join(errs...)
}

// startCheck creates the health job due at due; AlreadyExists means it was created before (by
// this controller before a restart, or a pass whose cache had not caught up).
func (r *HealthReconciler) startCheck(ctx context.Context, ecu *diagv1.ECU, due time.Time) error {
	j := newHealthJob(ecu, due)
	switch err := r.client.Create(ctx, j); {
	case apierrors.IsAlreadyExists(err):
		return nil
	case err != nil:
		return fmt.Errorf("creating health job %s for ECU %s/%s: %w", j.Name, ecu.Namespace, ecu.Name, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Started a health check", "job", j.Name, "due", due)
	r.recorder.Eventf(ecu, j, "Normal", "HealthCheckStarted", "HealthCheck", "Started health check %s", j.Name)
	return nil
}

// stopChecks removes the Healthy condition and the waiting health jobs of an ECU whose
// spec.healthCheck was removed; a running check finishes.
func (r *HealthReconciler) stopChecks(ctx context.Context, ecu *diagv1.ECU, h healthHistory) error {
	var waiting []*diagv1.DiagnosticJob
	for _, j := range h.unfinished {
		if !j.Status.IsBound() {
			waiting = append(waiting, j)
		}
	}
	err := r.deleteJobs(ctx, waiting)
	if meta.FindStatusCondition(ecu.Status.Conditions, diagv1.ConditionHealthy) == nil {
		return err
	}
	updated := ecu.DeepCopy()
	meta.RemoveStatusCondition(&updated.Status.Conditions, diagv1.ConditionHealthy)
	if perr := patchCondition(ctx, r.client, r.recorder, ecu, updated, nil, nil, diagv1.ConditionHealthy); perr != nil {
		err = errors.Join(err, fmt.Errorf("removing the Healthy condition of ECU %s/%s: %w", ecu.Namespace, ecu.Name, perr))
	}
	return err
}

// deleteJobs deletes health jobs; one already gone is not an error.
func (r *HealthReconciler) deleteJobs(ctx context.Context, jobs []*diagv1.DiagnosticJob) error {
	var errs []error
	for _, j := range jobs {
		if err := r.client.Delete(ctx, j, client.Preconditions{UID: &j.UID}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting old health job %s/%s: %w", j.Namespace, j.Name, err))
		} else if err == nil {
			ctrl.LoggerFrom(ctx).V(1).Info("Deleted old health job", "job", j.Name)
		}
	}
	return errors.Join(errs...)
}

// setup registers the health checker: every ECU, again when one of its health jobs changes.
func (r *HealthReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("ecu-health").
		For(&diagv1.ECU{}).
		Owns(&diagv1.DiagnosticJob{}).
		Complete(r)
}

// healthJobIndex indexes health jobs by their label value (healthLabelValue of the ECU) and
// under allHealthJobs, so that neither a reconcile of one ECU nor a scheduling pass scans every
// job of the namespace for them: with 50,000 finished jobs that scan was half the controller's CPU.
const healthJobIndex = "ecufleet.health-check"

// allHealthJobs is the healthJobIndex value every health job has besides its ECU's; no label
// value can be "*".
const allHealthJobs = "*"

// indexHealthJob is the indexer of healthJobIndex.
func indexHealthJob(obj client.Object) []string {
	v, ok := obj.GetLabels()[diagv1.HealthCheckLabel]
	if !ok {
		return nil
	}
	return []string{v, allHealthJobs}
}
