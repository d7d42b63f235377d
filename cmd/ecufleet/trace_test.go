package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/devcluster"
)

// runTrace runs `ecufleet trace args...` in-process and returns its standard output.
func runTrace(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"trace"}, args...))
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(ctx)
	return out.Bytes(), err
}

func TestTraceCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cl, err := devcluster.Start(ctx, devcluster.Options{KubeconfigOut: kc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Stop(); err != nil {
			t.Errorf("stop the control plane: %v", err)
		}
	})
	c := cl.Client()

	// A real pcapng: the pcapng package's golden session.
	trace, err := os.ReadFile(filepath.Join("..", "..", "pkg", "pcapng", "testdata", "session.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(trace)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "flash-trace", Namespace: "default"}, BinaryData: map[string][]byte{traceKey: gz.Bytes()}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other-trace", Namespace: "default"}, BinaryData: map[string][]byte{"x": {1}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "plain-trace", Namespace: "default"}, BinaryData: map[string][]byte{traceKey: trace}},
	} {
		if err := c.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}

	file := filepath.Join(t.TempDir(), "flash.pcapng")
	if out, err := runTrace(t, "flash", "--kubeconfig", kc, "-n", "default", "-o", file); err != nil || len(out) != 0 {
		t.Fatalf("trace -o: %v, output %q", err, out)
	}
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, trace) {
		t.Errorf("trace -o wrote %d bytes (%v), want the %d bytes of the stored pcapng", len(got), err, len(trace))
	}
	if out, err := runTrace(t, "flash", "--kubeconfig", kc); err != nil || !bytes.Equal(out, trace) {
		t.Errorf("trace to stdout: %v, %d bytes, want the %d bytes of the stored pcapng", err, len(out), len(trace))
	}

	// Jobs without a trace, for the reasons the error gives.
	running := builders.MakeJob("running", "default").ECU("e").Step(builders.Delay("a", time.Second)).Obj()
	passed := builders.MakeJob("passed", "default").ECU("e").Step(builders.Delay("a", time.Second)).Obj()
	for _, j := range []*diagv1.DiagnosticJob{running, passed} {
		if err := c.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	running.Status.Phase = diagv1.JobRunning
	passed.Status.Phase = diagv1.JobSucceeded
	for _, j := range []*diagv1.DiagnosticJob{running, passed} {
		if err := c.Status().Update(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		job  string
		want []string
	}{
		{"missing", []string{"ConfigMap default/missing-trace not found", "no DiagnosticJob missing in namespace default", "-n"}},
		{"running", []string{"ConfigMap default/running-trace not found", "still Running", "ecufleet wait running"}},
		{"passed", []string{"passed-trace", "spec.trace is OnFailure", "spec.trace: Always"}},
		{"other", []string{"ConfigMap default/other-trace has no binaryData key trace.pcapng.gz"}},
		{"plain", []string{"ConfigMap default/plain-trace key trace.pcapng.gz: not gzip"}},
	} {
		_, err := runTrace(t, tt.job, "--kubeconfig", kc, "-o", filepath.Join(t.TempDir(), "x.pcapng"))
		for _, want := range tt.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("trace %s: got %v, want an error containing %q", tt.job, err, want)
			}
		}
	}
}

func TestGunzipBoundedRefusesABomb(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	if _, err := gunzipBounded(gz.Bytes(), 1000); err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("1 MiB of zeros with a 1000-byte bound: %v", err)
	}
	if got, err := gunzipBounded(gz.Bytes(), 1<<20); err != nil || len(got) != 1<<20 {
		t.Errorf("1 MiB with a 1 MiB bound: %d bytes, %v", len(got), err)
	}
}
