package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// statusAfter is the job's status after mutate, with the conditions derived from it, and
// whether that differs from the current status. It copies the controller's fields only (the
// agent's steps are shared, never changed), because a pass asks this of many jobs. A
// condition that changes takes now as its transition time.
func statusAfter(j *diagv1.DiagnosticJob, mutate func(*diagv1.DiagnosticJobStatus), now time.Time) (diagv1.DiagnosticJobStatus, bool) {
	st := j.Status
	st.Conditions = slices.Clone(j.Status.Conditions)
	mutate(&st)
	st.ObservedGeneration = j.Generation
	st.SetConditions(j.Generation, now)
	return st, !equality.Semantic.DeepEqual(st, j.Status)
}

// patchJobStatus applies mutate to the job's status, derives the conditions, and sends the
// difference with the job's resourceVersion as a precondition (the agent writes the same
// status). It returns the job as now stored; unchanged when there was nothing to write.
func (p *pass) patchJobStatus(ctx context.Context, j *diagv1.DiagnosticJob, mutate func(*diagv1.DiagnosticJobStatus)) (*diagv1.DiagnosticJob, error) {
	st, changed := statusAfter(j, mutate, p.now)
	if !changed {
		return j, nil
	}
	updated := j.DeepCopy()
	st.DeepCopyInto(&updated.Status)
	if _, err := patch.Write(ctx, p.r.client, j, updated, patch.Options{Status: true}); err != nil {
		return nil, p.writeFailed(ctx, err, j, "status of DiagnosticJob")
	}
	p.storeJob(updated)
	return updated, nil
}

// patchJobMeta gives the job the labels, annotations and finalizers m says and sends the
// difference with the job's resourceVersion as a precondition (finalizers are a list: a stale
// copy would drop a finalizer someone else just added).
func (p *pass) patchJobMeta(ctx context.Context, j *diagv1.DiagnosticJob, m jobMeta) error {
	if !m.changes(j) {
		return nil
	}
	updated := j.DeepCopy()
	m.apply(updated)
	if _, err := patch.Write(ctx, p.r.client, j, updated, patch.Options{}); err != nil {
		return p.writeFailed(ctx, err, j, "metadata of DiagnosticJob")
	}
	p.storeJob(updated)
	return nil
}

// patchECUStatus applies mutate to a copy of the ECU's status and sends the difference; with
// precondition the ECU's resourceVersion must not have moved (always so for the lock).
func (p *pass) patchECUStatus(ctx context.Context, e *diagv1.ECU, precondition bool, mutate func(*diagv1.ECUStatus)) (*diagv1.ECU, error) {
	updated := e.DeepCopy()
	mutate(&updated.Status)
	wrote, err := patch.Write(ctx, p.r.client, e, updated, patch.Options{Status: true, NoPrecondition: !precondition})
	if err != nil {
		return nil, p.writeFailed(ctx, err, e, "status of ECU")
	}
	if !wrote {
		return e, nil
	}
	p.storeECU(updated)
	return updated, nil
}

// writeFailed turns a failed write into the error the caller returns: after a conflict or a
// NotFound it re-reads the object from the API server (not the cache) into the snapshot and
// asks for a quick new pass; other errors are recorded for the workqueue's backoff.
func (p *pass) writeFailed(ctx context.Context, err error, obj client.Object, what string) error {
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		p.conflict()
		_ = p.reread(ctx, obj) // a failure is recorded and retried with the pass
		return err
	}
	err = fmt.Errorf("writing the %s %s/%s: %w", what, obj.GetNamespace(), obj.GetName(), err)
	p.fail(err)
	return err
}
