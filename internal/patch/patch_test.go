package patch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/devcluster"
	"github.com/ecufleet/ecufleet/internal/patch"
)

const ns = "patch"

// api is a real API server: preconditions and the status subresource are its rules, not a
// fake client's.
var api *devcluster.TestAPI

func TestMain(m *testing.M) {
	a, err := devcluster.StartTestAPI(context.Background(), os.Stderr, devcluster.TestAPIOptions{Namespaces: []string{ns}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	api = a
	code := m.Run()
	if err := api.Env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "Stopping the test API server:", err)
	}
	os.Exit(code)
}

// newECU creates an ECU and returns it as stored.
func newECU(t *testing.T, name string) *diagv1.ECU {
	t.Helper()
	e := builders.MakeECU(name, ns).Obj()
	if err := api.Client.Create(context.Background(), e); err != nil {
		t.Fatalf("creating ECU %s: %v", name, err)
	}
	return e
}

// stored reads an ECU from the API server.
func stored(t *testing.T, e *diagv1.ECU) *diagv1.ECU {
	t.Helper()
	got := &diagv1.ECU{}
	if err := api.Client.Get(context.Background(), client.ObjectKeyFromObject(e), got); err != nil {
		t.Fatalf("reading ECU %s: %v", e.Name, err)
	}
	return got
}

func TestWriteReturnsConflictOfAStaleCopy(t *testing.T) {
	ctx := context.Background()
	cur := newECU(t, "conflict")
	stale := cur.DeepCopy()

	first := cur.DeepCopy()
	first.Status.ActiveJob = "job-a"
	if changed, err := patch.Write(ctx, api.Client, cur, first, patch.Options{Status: true}); err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v, want a write", changed, err)
	}
	if first.ResourceVersion == cur.ResourceVersion {
		t.Errorf("updated still has resourceVersion %s; want the stored one", first.ResourceVersion)
	}

	second := stale.DeepCopy()
	second.Status.ActiveJob = "job-b"
	changed, err := patch.Write(ctx, api.Client, stale, second, patch.Options{Status: true})
	if !apierrors.IsConflict(err) || changed {
		t.Fatalf("write from a stale copy: changed=%v err=%v, want a Conflict", changed, err)
	}
	if got := stored(t, cur).Status.ActiveJob; got != "job-a" {
		t.Errorf("activeJob = %q after the refused write, want job-a", got)
	}

	third := stale.DeepCopy()
	third.Status.QueuedJobs = 3
	if _, err := patch.Write(ctx, api.Client, stale, third, patch.Options{Status: true, NoPrecondition: true}); err != nil {
		t.Fatalf("write without precondition from a stale copy: %v", err)
	}
	if got := stored(t, cur).Status; got.QueuedJobs != 3 || got.ActiveJob != "job-a" {
		t.Errorf("status = %+v, want queuedJobs 3 and activeJob job-a kept", got)
	}
}

func TestWriteSendsNothingWhenUnchanged(t *testing.T) {
	cur := newECU(t, "unchanged")
	changed, err := patch.Write(context.Background(), api.Client, cur, cur.DeepCopy(), patch.Options{Status: true})
	if err != nil || changed {
		t.Fatalf("changed=%v err=%v, want no write", changed, err)
	}
	if got := stored(t, cur).ResourceVersion; got != cur.ResourceVersion {
		t.Errorf("resourceVersion moved from %s to %s without a change", cur.ResourceVersion, got)
	}
}

func TestWriteGoesToStatusOrMainResource(t *testing.T) {
	ctx := context.Background()
	cur := newECU(t, "subresource")
	both := cur.DeepCopy()
	both.Labels = map[string]string{"rig": "x"}
	both.Status.ActiveJob = "job-a"
	if _, err := patch.Write(ctx, api.Client, cur, both, patch.Options{Status: true}); err != nil {
		t.Fatalf("status write: %v", err)
	}
	got := stored(t, cur)
	if got.Status.ActiveJob != "job-a" || got.Labels["rig"] != "" {
		t.Errorf("after a status write: activeJob %q, labels %v; want only the status written", got.Status.ActiveJob, got.Labels)
	}

	both = got.DeepCopy()
	both.Labels = map[string]string{"rig": "x"}
	both.Status.ActiveJob = "job-b"
	if _, err := patch.Write(ctx, api.Client, got, both, patch.Options{}); err != nil {
		t.Fatalf("main resource write: %v", err)
	}
	got = stored(t, cur)
	if got.Status.ActiveJob != "job-a" || got.Labels["rig"] != "x" {
		t.Errorf("after a main write: activeJob %q, labels %v; want only the labels written", got.Status.ActiveJob, got.Labels)
	}
}

func TestMutateRereadsAndRetriesOnConflict(t *testing.T) {
	ctx := context.Background()
	cur := newECU(t, "mutate")
	stale := cur.DeepCopy()
	other := cur.DeepCopy()
	other.Status.QueuedJobs = 5
	if _, err := patch.Write(ctx, api.Client, cur, other, patch.Options{Status: true}); err != nil {
		t.Fatalf("the other writer's write: %v", err)
	}

	calls := 0
	changed, err := patch.Mutate(ctx, api.Client, api.Client, stale, patch.Options{Status: true}, func(e *diagv1.ECU) (bool, error) {
		calls++
		e.Status.ActiveJob = "job-a"
		return true, nil
	})
	if err != nil || !changed {
		t.Fatalf("Mutate: changed=%v err=%v, want a write", changed, err)
	}
	if calls != 2 {
		t.Errorf("mutate ran %d times, want 2 (once on the stale copy, once after the re-read)", calls)
	}
	if got := stored(t, cur).Status; got.ActiveJob != "job-a" || got.QueuedJobs != 5 {
		t.Errorf("status = %+v, want activeJob job-a with the other writer's queuedJobs 5 kept", got)
	}

	rv := stale.ResourceVersion
	changed, err = patch.Mutate(ctx, api.Client, api.Client, stale, patch.Options{Status: true}, func(*diagv1.ECU) (bool, error) {
		return false, nil
	})
	if err != nil || changed || stored(t, cur).ResourceVersion != rv {
		t.Errorf("Mutate with nothing to change: changed=%v err=%v; want no write", changed, err)
	}

	_, err = patch.Mutate(ctx, api.Client, api.Client, stale, patch.Options{Status: true}, func(e *diagv1.ECU) (bool, error) {
		e.Status.ActiveJob = "job-b"
		return false, patch.ErrNotOurs
	})
	if !errors.Is(err, patch.ErrNotOurs) || stale.Status.ActiveJob != "job-a" {
		t.Errorf("Mutate refused by mutate: err=%v activeJob=%q; want ErrNotOurs and the object as before", err, stale.Status.ActiveJob)
	}
}
