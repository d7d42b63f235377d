package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxConflictRetries bounds a re-read-and-retry loop: the controller writes other fields of the
// same objects, so a few conflicts are normal, and an endless stream of them is a bug to report.
const maxConflictRetries = 10

// errNotOurs is returned by a mutate function when the freshly read object no longer needs
// this agent's change (the job moved to another attempt, the ECU to another agent).
var errNotOurs = errors.New("object is no longer this agent's to update")

// objectPtr lets patchWithLock allocate a fresh object of the caller's type after a conflict.
type objectPtr[T any] interface {
	*T
	client.Object
}

// patchWithLock applies mutate to obj and writes the change as a JSON merge patch carrying
// obj's resourceVersion as a precondition; on a conflict it re-reads obj through r and applies
// mutate again. The precondition matters because a merge patch replaces whole lists (status
// conditions, steps): without it a patch built from a stale copy would silently undo what the
// controller wrote meanwhile. mutate returns false when nothing needs writing; obj then holds
// the state last read. status selects the status subresource.
func patchWithLock[T any, P objectPtr[T]](ctx context.Context, w client.Client, r client.Reader, obj P, status bool,
	mutate func(P) (bool, error)) error {
	for attempt := 1; ; attempt++ {
		before := P(new(T))
		*before = *obj.DeepCopyObject().(P)
		changed, err := mutate(obj)
		if err != nil {
			*obj = *before
			return err
		}
		if !changed {
			return nil
		}
		patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
		if status {
			err = w.Status().Patch(ctx, obj, patch)
		} else {
			err = w.Patch(ctx, obj, patch)
		}
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == maxConflictRetries {
			return fmt.Errorf("patch %s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
		}
		fresh := P(new(T))
		if err := r.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
			return fmt.Errorf("re-read %s %s after a write conflict: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
		}
		*obj = *fresh
	}
}

// kindOf names an object's Go type for error messages ("DiagnosticJob").
func kindOf(obj client.Object) string {
	t := fmt.Sprintf("%T", obj)
	return t[strings.LastIndexByte(t, '.')+1:]
}
