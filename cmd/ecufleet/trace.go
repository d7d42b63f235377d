package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

const (
	// traceSuffix and traceKey locate a job's trace: ConfigMap <job>-trace, binaryData key
	// trace.pcapng.gz, as the agent writes it.
	traceSuffix = "-trace"
	traceKey    = "trace.pcapng.gz"
	// maxTraceSize bounds the decompressed trace, so a corrupt or hostile ConfigMap cannot
	// make the command allocate without limit: far above what 900 KiB of gzip holds of pcapng.
	maxTraceSize = 256 << 20
)

// pcapngMagic is the block type of a pcapng section header block, the first bytes of the file.
var pcapngMagic = []byte{0x0A, 0x0D, 0x0D, 0x0A}

type traceFlags struct {
	ciFlags
	file string
}

func newTraceCmd() *cobra.Command {
	f := &traceFlags{}
	cmd := &cobra.Command{
		Use:   "trace JOB",
		Short: "Write a DiagnosticJob's DoIP trace as pcapng, to a file or into Wireshark",
		Long: `Read the trace the agent stored for a job (ConfigMap <JOB>-trace, key ` + traceKey + `),
decompress it and write the pcapng to -o FILE, or to stdout when stdout is not a terminal, so
it can be piped into Wireshark. Which jobs keep a trace is the job's spec.trace: Never,
OnFailure (the default) or Always.`,
		Example: `  {{.CommandPath}} read-vin-x7k2p | wireshark -k -i -
  {{.CommandPath}} -n lab flash-ecu -o flash-ecu.pcapng`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if f.file == "" && isTerminal(out) {
				return usageError(errors.New("refusing to write a binary pcapng to the terminal: give -o FILE, or pipe it (ecufleet trace JOB | wireshark -k -i -)"))
			}
			c, err := f.connect()
			if err != nil {
				return err
			}
			data, err := readTrace(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if f.file == "" {
				_, err = out.Write(data)
				return err
			}
			if err := os.WriteFile(f.file, data, 0o644); err != nil {
				return fmt.Errorf("write the trace: %w", err)
			}
			return nil
		},
	}
	cmd.Example = examples(cmd.Example, "trace")
	f.bind(cmd, false)
	cmd.Flags().StringVarP(&f.file, "output", "o", "", "write the pcapng to FILE (default: stdout, which must not be a terminal)")
	return cmd
}

// readTrace returns job's decompressed pcapng, or an error that names the ConfigMap and why
// it may be missing.
func readTrace(ctx context.Context, c *ciClient, job string) ([]byte, error) {
	name := job + traceSuffix
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: name}, &cm); err != nil {
		if e := c.unreachable("read ConfigMap "+name, err); e != nil {
			return nil, e
		}
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("no trace for job %s: ConfigMap %s/%s not found: %s", job, c.namespace, name, whyNoTrace(ctx, c, job))
		}
		return nil, fmt.Errorf("read ConfigMap %s/%s: %w", c.namespace, name, err)
	}
	gz, ok := cm.BinaryData[traceKey]
	if !ok {
		keys := make([]string, 0, len(cm.BinaryData))
		for k := range cm.BinaryData {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("ConfigMap %s/%s has no binaryData key %s (it has %v): it is not a trace the agent wrote", c.namespace, name, traceKey, keys)
	}
	data, err := gunzipBounded(gz, maxTraceSize)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s key %s: %w", c.namespace, name, traceKey, err)
	}
	if !bytes.HasPrefix(data, pcapngMagic) {
		return nil, fmt.Errorf("ConfigMap %s/%s key %s does not hold a pcapng file (it starts % X)", c.namespace, name, traceKey, data[:min(len(data), 4)])
	}
	return data, nil
}

// gunzipBounded decompresses b, refusing more than limit bytes of output.
func gunzipBounded(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("corrupt gzip: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("decompresses to more than %d bytes, more than any trace holds", limit)
	}
	return data, nil
}

// whyNoTrace looks at the job to say why it has no trace and what to try.
func whyNoTrace(ctx context.Context, c *ciClient, job string) string {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(diagv1.GroupVersion.WithKind("DiagnosticJob"))
	if err := c.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: job}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("there is no DiagnosticJob %s in namespace %s either: check the name and -n", job, c.namespace)
		}
		return fmt.Sprintf("the job could not be read either (%v)", err)
	}
	policy, _, _ := unstructured.NestedString(u.Object, "spec", "trace")
	if policy == "" {
		policy = "OnFailure"
	}
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	switch p := diagv1.JobPhase(phase); {
	case policy == "Never":
		return "the job's spec.trace is Never: set spec.trace: Always (or OnFailure) and run it again"
	case p != diagv1.JobSucceeded && p != diagv1.JobFailed && p != diagv1.JobCancelled:
		if p == "" {
			p = diagv1.JobPending
		}
		return fmt.Sprintf("the job is still %s: the agent stores the trace when the job ends; try again then (ecufleet wait %s)", p, job)
	case policy == "OnFailure" && p == diagv1.JobSucceeded:
		return "the job passed and its spec.trace is OnFailure, which keeps the traces of failed jobs only: set spec.trace: Always to keep every trace"
	}
	return fmt.Sprintf("the job ended %s with spec.trace %s, but no trace was stored: check its status.trace and the agent's logs (an agent older than traces stores none)", phase, policy)
}
