package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
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

// patchRollUp writes a roll-up's status, updated over current, and records an Event when the
// write changed the Ready condition's status or reason (before and after are the two objects'
// conditions), so that `kubectl describe` tells when an agent was lost or an ECU stopped being
// Ready, and why. The patch carries current's resourceVersion as a precondition, because
// conditions is a list shared with other writers and a stale copy must never overwrite a newer
// entry. A conflict or a deleted object is not an error: its watch event brings the reconciler
// back with a fresh copy.
func patchRollUp(ctx context.Context, c client.Client, rec events.EventRecorder, current, updated client.Object, before, after []metav1.Condition) error {
	return patchCondition(ctx, c, rec, current, updated, before, after, diagv1.ConditionReady)
}

// patchCondition is patchRollUp for the condition of type condType: the Event follows that
// condition's changes (Normal unless it turned False), as the health checker's Healthy needs.
func patchCondition(ctx context.Context, c client.Client, rec events.EventRecorder, current, updated client.Object, before, after []metav1.Condition, condType string) error {
	changed, err := patch.Write(ctx, c, current, updated, patch.Options{Status: true})
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case !changed:
		return nil
	}
	b, a := meta.FindStatusCondition(before, condType), meta.FindStatusCondition(after, condType)
	if a != nil && (b == nil || b.Status != a.Status || b.Reason != a.Reason) {
		good := a.Status == metav1.ConditionTrue || (condType != diagv1.ConditionReady && a.Status == metav1.ConditionUnknown)
		rec.Eventf(updated, nil, eventType(good), a.Reason, condType, "%s", a.Message)
	}
	return nil
}
