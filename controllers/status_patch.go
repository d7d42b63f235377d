package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// readyCondition is the Ready condition the roll-up reconcilers own, True or False by ready.
func readyCondition(ready bool, reason, message string, generation int64, now time.Time) metav1.Condition {
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{
		Type: diagv1.ConditionReady, Status: status, Reason: reason, Message: message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	}
}

// patchStatusIfChanged writes updated's status over current with current's resourceVersion as a
// precondition, because conditions is a list shared with other writers and a stale copy must
// never overwrite a newer entry; it reports whether it wrote. A conflict or a deleted object is
// not an error: its watch event brings the reconciler back with a fresh copy.
func patchStatusIfChanged(ctx context.Context, c client.Client, current, updated client.Object) (bool, error) {
	if equality.Semantic.DeepEqual(current, updated) {
		return false, nil
	}
	err := c.Status().Patch(ctx, updated, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// recordReadyChange records an Event when a written status changed the Ready condition's status
// or reason, so that `kubectl describe` tells when an agent was lost or an ECU stopped being
// Ready, and why. The reason is the condition's (one word); the action is "Ready".
func recordReadyChange(rec events.EventRecorder, obj runtime.Object, before, after []metav1.Condition) {
	b, a := meta.FindStatusCondition(before, diagv1.ConditionReady), meta.FindStatusCondition(after, diagv1.ConditionReady)
	if a == nil || b != nil && b.Status == a.Status && b.Reason == a.Reason {
		return
	}
	rec.Eventf(obj, nil, eventType(a.Status == metav1.ConditionTrue), a.Reason, "Ready", "%s", a.Message)
}
