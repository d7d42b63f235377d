package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// pluginPrefix is how kubectl finds plugins on the PATH: kubectl-ecufleet runs as `kubectl ecufleet`.
const pluginPrefix = "kubectl-"

// commandName is the name the binary was called by, as help text should show it: "ecufleet",
// or "kubectl ecufleet" when installed as the kubectl plugin kubectl-ecufleet.
func commandName(arg0 string) string {
	base := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	if rest, ok := strings.CutPrefix(base, pluginPrefix); ok && rest != "" {
		return "kubectl " + strings.ReplaceAll(rest, "_", "-")
	}
	return "ecufleet"
}

// newRootCmd assembles every subcommand; each lives in a file named after it.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ecufleet",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: commandName(os.Args[0])},
		Short:         "Kubernetes-native hardware-in-the-loop test operator for automotive ECUs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// A wrong flag is a wrong command line: exit 3, nothing was run.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(newVersionCmd())
	root.AddCommand(newECUSimCmd())
	root.AddCommand(newDoIPCmd())
	root.AddCommand(newAgentCmd())
	root.AddCommand(newControllerCmd())
	root.AddCommand(newDevCmd())
	root.AddCommand(newDemoCmd())
	root.AddCommand(newRunCmd())
	root.AddCommand(newWaitCmd())
	root.AddCommand(newResultsCmd())
	root.AddCommand(newTraceCmd())
	return root
}

// examples fills the {{.CommandPath}} of an Example with the name the binary was called by,
// since cobra does not template examples.
func examples(text, sub string) string {
	return strings.ReplaceAll(text, "{{.CommandPath}}", commandName(os.Args[0])+" "+sub)
}
