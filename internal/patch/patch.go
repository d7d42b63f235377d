// Package patch is the one way ecufleet writes an object it shares with another writer: a JSON
// merge patch that carries the resourceVersion it was computed from, so that a stale copy never
// silently undoes a newer write (a merge patch replaces whole lists such as conditions, steps
// and finalizers).
package patch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MaxConflictRetries bounds Mutate's re-read-and-retry loop: other writers touch other fields
// of the same objects, so a few conflicts are normal, and an endless stream of them is a bug.
const MaxConflictRetries = 10

// ErrNotOurs is returned by a mutate function when the freshly read object no longer needs the
// caller's change (a job moved to another attempt, an ECU to another agent).
var ErrNotOurs = errors.New("object is no longer this writer's to update")

// Options says where a write goes and what it is conditioned on.
type Options struct {
	// Status sends the write to the status subresource.
	Status bool
	// NoPrecondition leaves out the resourceVersion precondition, for fields only this writer
	// owns and whose stale value cannot undo anyone else's.
	NoPrecondition bool
}

// Write sends the difference from current to updated. It writes nothing and returns false when
// the two are semantically equal. On success updated holds the object as stored (its new
// resourceVersion); on failure the API server's error is returned as is, so that callers can
// test it with apierrors.IsConflict and IsNotFound.
func Write(ctx context.Context, w client.Client, current, updated client.Object, opts Options) (bool, error) {
	if equality.Semantic.DeepEqual(current, updated) {
		return false, nil
	}
	p := client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{})
	if opts.NoPrecondition {
		p = client.MergeFrom(current)
	}
	var err error
	if opts.Status {
		err = w.Status().Patch(ctx, updated, p)
	} else {
		err = w.Patch(ctx, updated, p)
	}
	return err == nil, err
}

// Object lets Mutate allocate a fresh object of the caller's type after a conflict.
type Object[T any] interface {
	*T
	client.Object
}

// Mutate applies mutate to obj and writes the change with Write; on a conflict it re-reads obj
// through r (the API server, not a cache that may lag) and applies mutate again. mutate returns
// false when nothing needs writing; obj then holds the state last read. When mutate fails, obj
// is left as it was before that call and the error is returned unwrapped (see ErrNotOurs).
func Mutate[T any, P Object[T]](ctx context.Context, w client.Client, r client.Reader, obj P, opts Options,
	mutate func(P) (bool, error)) (bool, error) {
	for attempt := 1; ; attempt++ {
		before := P(new(T))
		*before = *obj.DeepCopyObject().(P)
		changed, err := mutate(obj)
		if err != nil {
			*obj = *before
			return false, err
		}
		if !changed {
			return false, nil
		}
		wrote, err := Write(ctx, w, before, obj, opts)
		if err == nil {
			return wrote, nil
		}
		if !apierrors.IsConflict(err) || attempt == MaxConflictRetries {
			return false, fmt.Errorf("patch %s %s: %w", KindOf(obj), client.ObjectKeyFromObject(obj), err)
		}
		fresh := P(new(T))
		if err := r.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
			return false, fmt.Errorf("re-read %s %s after a write conflict: %w", KindOf(obj), client.ObjectKeyFromObject(obj), err)
		}
		*obj = *fresh
	}
}

// KindOf names an object's Go type for error messages ("DiagnosticJob").
func KindOf(obj client.Object) string {
	t := fmt.Sprintf("%T", obj)
	return t[strings.LastIndexByte(t, '.')+1:]
}
