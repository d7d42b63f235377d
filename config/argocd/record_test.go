package argocd_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/devcluster"
)

// recordedHeader marks a testdata file the recorder owns; files without it are hand-written
// (states no run reaches yet) and the recorder leaves them alone.
const recordedHeader = "# Recorded from a real run (envtest, controller, agent, simulated ECUs) by\n# \"go test ./config/argocd -run TestRecordTestdata -update\"; do not edit.\n"

// recordTimeout bounds the wait for one recorded state on a loaded machine.
const recordTimeout = 90 * time.Second

// recorder writes objects of a running dev cluster into a kind's testdata.
type recorder struct {
	t *testing.T
	c client.Client
}

// TestRecordTestdata records the DiagnosticJob, ECU and DiagnosticSchedule objects of
// health_test.yaml from a real run: the local control plane with the controller, one agent and
// two simulated ECUs. It runs
// only with -update, as it takes a minute and rewrites files.
func TestRecordTestdata(t *testing.T) {
	if !*update {
		t.Skip("records testdata only with -update")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cluster, err := devcluster.Start(ctx, devcluster.Options{
		Agents: 1, Sims: 2, Controller: true,
		KubeconfigOut: filepath.Join(t.TempDir(), "kubeconfig"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			t.Error(err)
		}
	}()
	r := recorder{t: t, c: cluster.Client()}
	ns := devcluster.SimNamespace
	r.waitECU(ctx, "sim-0", func(e *diagv1.ECU) bool {
		return meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady)
	})
	r.waitECU(ctx, "sim-1", func(e *diagv1.ECU) bool {
		return meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady)
	})

	// ECUs: Ready, cordoned, unreachable, without an agent, and as just created.
	r.record(ctx, "ECU", "sim-0", "ready.yaml")
	r.update(ctx, &diagv1.ECU{}, "sim-1", func(o client.Object) { o.(*diagv1.ECU).Spec.Unschedulable = true })
	r.record(ctx, "ECU", "sim-1", "cordoned.yaml")

	fresh := builders.MakeECU("fresh", ns).Address(devcluster.SimHost).LogicalAddress(devcluster.SimLogicalAddress).Obj()
	r.write("ECU", "created.yaml", r.create(ctx, "ECU", fresh))

	offline := builders.MakeECU("offline", ns).Address(devcluster.SimHost).Port(closedPort(t)).
		LogicalAddress(devcluster.SimLogicalAddress).ProbeTiming(1, 1, 1).Obj()
	r.create(ctx, "ECU", offline)
	r.waitECU(ctx, "offline", func(e *diagv1.ECU) bool {
		c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionReachable)
		return c != nil && c.Status == "False"
	})
	r.record(ctx, "ECU", "offline", "unreachable.yaml")

	unserved := builders.MakeECU("unserved", ns).Address(devcluster.SimHost).LogicalAddress(devcluster.SimLogicalAddress).
		AgentSelector(map[string]string{devcluster.AgentLabelKey: "elsewhere"}).Obj()
	r.create(ctx, "ECU", unserved)
	r.waitECU(ctx, "unserved", func(e *diagv1.ECU) bool {
		c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionReady)
		return c != nil && c.Reason == diagv1.ReasonNoAgent
	})
	r.record(ctx, "ECU", "unserved", "no-agent.yaml")

	// Jobs: succeeded, failed, suspended, running, queued on a cordoned ECU, just created.
	readVIN := func(name, ecu string) *builders.JobWrapper {
		return builders.MakeJob(name, ns).ECU(ecu).Step(builders.ReadDID("vin", 0xF190))
	}
	r.write("DiagnosticJob", "created.yaml", r.create(ctx, "DiagnosticJob", readVIN("read-vin", "sim-0").Obj()))
	r.waitJob(ctx, "read-vin", diagv1.JobSucceeded)
	r.record(ctx, "DiagnosticJob", "read-vin", "succeeded.yaml")

	r.create(ctx, "DiagnosticJob", builders.MakeJob("wrong-vin", ns).ECU("sim-0").Step(builders.ReadDID("vin", 0xF190).ExpectValue("NOTTHEVIN00000000")).Obj())
	r.waitJob(ctx, "wrong-vin", diagv1.JobFailed)
	r.record(ctx, "DiagnosticJob", "wrong-vin", "failed.yaml")

	r.create(ctx, "DiagnosticJob", readVIN("on-hold", "sim-0").Suspend().Obj())
	r.waitJob(ctx, "on-hold", diagv1.JobPending)
	r.record(ctx, "DiagnosticJob", "on-hold", "suspended.yaml")

	r.create(ctx, "DiagnosticJob", builders.MakeJob("soak", ns).ECU("sim-0").Step(builders.Delay("soak", time.Minute)).Obj())
	r.waitJob(ctx, "soak", diagv1.JobRunning)
	r.record(ctx, "DiagnosticJob", "soak", "running.yaml")

	r.create(ctx, "DiagnosticJob", readVIN("behind-cordon", "sim-1").Obj())
	r.waitJob(ctx, "behind-cordon", diagv1.JobQueued)
	r.record(ctx, "DiagnosticJob", "behind-cordon", "queued.yaml")
	r.delete(ctx, &diagv1.DiagnosticJob{}, "soak") // free sim-0 for what follows

	// ECU whose health check fails: a second ECU object for sim-0's simulator.
	var sim0 diagv1.ECU
	if err := r.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "sim-0"}, &sim0); err != nil {
		t.Fatal(err)
	}
	checked := builders.MakeECU("checked", ns).Address(sim0.Spec.Address).Port(sim0.Spec.Port).
		LogicalAddress(sim0.Spec.LogicalAddress).HealthCheck(3600, 1,
		builders.ReadDID("vin", 0xF190).ExpectValue("NOTTHEVIN00000000")).Obj()
	r.create(ctx, "ECU", checked)
	r.waitECU(ctx, "checked", func(e *diagv1.ECU) bool {
		c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionHealthy)
		return c != nil && c.Status == "False"
	})
	r.record(ctx, "ECU", "checked", "unhealthy.yaml")

	// Schedules: never run, last run passed, last run failed, a run still running, suspended.
	schedule := func(name, cron, ecu string, step *builders.StepWrapper) *builders.ScheduleWrapper {
		return builders.MakeSchedule(name, ns, cron).Template(builders.MakeJob("t", ns).ECU(ecu).Step(step))
	}
	r.create(ctx, "DiagnosticSchedule", schedule("nightly", "0 2 * * *", "sim-0", builders.ReadDID("vin", 0xF190)).Obj())
	r.waitSchedule(ctx, "nightly", func(s *diagv1.DiagnosticSchedule) bool { return len(s.Status.Conditions) > 0 })
	r.record(ctx, "DiagnosticSchedule", "nightly", "never-run.yaml")

	r.create(ctx, "DiagnosticSchedule", schedule("vin-check", "@every 2s", "sim-0", builders.ReadDID("vin", 0xF190)).Obj())
	r.waitSchedule(ctx, "vin-check", func(s *diagv1.DiagnosticSchedule) bool {
		return s.Status.LastRun != nil && s.Status.LastRun.Succeeded > 0 && s.Status.LastRun.Running == 0
	})
	r.record(ctx, "DiagnosticSchedule", "vin-check", "healthy.yaml")
	r.suspend(ctx, "vin-check")
	r.record(ctx, "DiagnosticSchedule", "vin-check", "suspended.yaml")

	r.create(ctx, "DiagnosticSchedule", schedule("wrong-vin-check", "@every 2s", "sim-0",
		builders.ReadDID("vin", 0xF190).ExpectValue("NOTTHEVIN00000000")).Obj())
	r.waitSchedule(ctx, "wrong-vin-check", func(s *diagv1.DiagnosticSchedule) bool {
		return s.Status.LastRun != nil && s.Status.LastRun.Failed > 0 && s.Status.LastRun.Running == 0
	})
	r.record(ctx, "DiagnosticSchedule", "wrong-vin-check", "degraded.yaml")
	r.suspend(ctx, "wrong-vin-check") // no more failing runs for the checks that follow

	r.create(ctx, "DiagnosticSchedule", schedule("behind-cordon", "@every 2s", "sim-1", builders.ReadDID("vin", 0xF190)).Obj())
	r.waitSchedule(ctx, "behind-cordon", func(s *diagv1.DiagnosticSchedule) bool {
		return s.Status.LastRun != nil && s.Status.LastRun.Running > 0
	})
	r.record(ctx, "DiagnosticSchedule", "behind-cordon", "running.yaml")
}

// suspend sets a schedule's spec.suspend.
func (r recorder) suspend(ctx context.Context, name string) {
	r.t.Helper()
	r.update(ctx, &diagv1.DiagnosticSchedule{}, name, func(o client.Object) { o.(*diagv1.DiagnosticSchedule).Spec.Suspend = true })
}

// delete deletes an object and waits until it is gone.
func (r recorder) delete(ctx context.Context, o client.Object, name string) {
	r.t.Helper()
	o.SetNamespace(devcluster.SimNamespace)
	o.SetName(name)
	if err := r.c.Delete(ctx, o); err != nil {
		r.t.Fatalf("deleting %s: %v", name, err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, recordTimeout, true, func(ctx context.Context) (bool, error) {
		err := r.c.Get(ctx, client.ObjectKey{Namespace: devcluster.SimNamespace, Name: name}, o)
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		r.t.Fatalf("waiting for %s to be deleted: %v", name, err)
	}
}

func (r recorder) waitSchedule(ctx context.Context, name string, done func(*diagv1.DiagnosticSchedule) bool) {
	r.t.Helper()
	var s diagv1.DiagnosticSchedule
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, recordTimeout, true, func(ctx context.Context) (bool, error) {
		if err := r.c.Get(ctx, client.ObjectKey{Namespace: devcluster.SimNamespace, Name: name}, &s); err != nil {
			return false, err
		}
		return done(&s), nil
	})
	if err != nil {
		r.t.Fatalf("waiting for DiagnosticSchedule %s (status %+v): %v", name, s.Status, err)
	}
}

// closedPort returns a loopback port nothing listens on: a probe of it gets no answer.
func closedPort(t *testing.T) int32 {
	l, err := net.ListenPacket("udp", net.JoinHostPort(devcluster.SimHost, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return int32(port)
}

// create creates an object and returns it as the API server answered, field for field.
func (r recorder) create(ctx context.Context, kind string, o client.Object) *unstructured.Unstructured {
	r.t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		r.t.Fatalf("converting %s: %v", o.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(diagv1.GroupVersion.WithKind(kind))
	if err := r.c.Create(ctx, u); err != nil {
		r.t.Fatalf("creating %s %s: %v", kind, o.GetName(), err)
	}
	return u
}

// update changes an object, retried on conflict.
func (r recorder) update(ctx context.Context, o client.Object, name string, mutate func(client.Object)) {
	r.t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, recordTimeout, true, func(ctx context.Context) (bool, error) {
		if err := r.c.Get(ctx, client.ObjectKey{Namespace: devcluster.SimNamespace, Name: name}, o); err != nil {
			return false, err
		}
		mutate(o)
		return r.c.Update(ctx, o) == nil, nil
	})
	if err != nil {
		r.t.Fatalf("updating %s: %v", name, err)
	}
}

func (r recorder) waitECU(ctx context.Context, name string, done func(*diagv1.ECU) bool) {
	r.t.Helper()
	var e diagv1.ECU
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, recordTimeout, true, func(ctx context.Context) (bool, error) {
		if err := r.c.Get(ctx, client.ObjectKey{Namespace: devcluster.SimNamespace, Name: name}, &e); err != nil {
			return false, err
		}
		return done(&e), nil
	})
	if err != nil {
		r.t.Fatalf("waiting for ECU %s (status %+v): %v", name, e.Status, err)
	}
}

func (r recorder) waitJob(ctx context.Context, name string, phase diagv1.JobPhase) {
	r.t.Helper()
	var j diagv1.DiagnosticJob
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, recordTimeout, true, func(ctx context.Context) (bool, error) {
		if err := r.c.Get(ctx, client.ObjectKey{Namespace: devcluster.SimNamespace, Name: name}, &j); err != nil {
			return false, err
		}
		return j.Status.Phase == phase, nil
	})
	if err != nil {
		r.t.Fatalf("waiting for job %s to be %s (status %+v): %v", name, phase, j.Status, err)
	}
}

// record reads an object as the API server serves it, which is what Argo CD sees, and writes it.
func (r recorder) record(ctx context.Context, kind, name, file string) {
	r.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(diagv1.GroupVersion.WithKind(kind))
	if err := r.c.Get(ctx, client.ObjectKey{Namespace: devcluster.SimNamespace, Name: name}, u); err != nil {
		r.t.Fatalf("reading %s %s: %v", kind, name, err)
	}
	r.write(kind, file, u)
}

// write stores an object in a kind's testdata, without managedFields (Argo CD ignores them).
func (r recorder) write(kind, file string, u *unstructured.Unstructured) {
	r.t.Helper()
	u.SetManagedFields(nil)
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join(group, kind, "testdata", file)
	if err := os.WriteFile(path, append([]byte(recordedHeader), data...), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("Recorded %s", path)
}
