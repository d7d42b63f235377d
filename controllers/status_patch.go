package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// never overwrite a newer entry. A conflict or a deleted object is not an error: its watch event
// brings the reconciler back with a fresh copy.
func patchStatusIfChanged(ctx context.Context, c client.Client, current, updated client.Object) error {
	if equality.Semantic.DeepEqual(current, updated) {
		return nil
	}
	err := c.Status().Patch(ctx, updated, client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
