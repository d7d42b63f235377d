package main

import (
	"github.com/spf13/cobra"
)

// newRootCmd assembles every subcommand; each lives in a file named after it.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ecufleet",
		Short:         "Kubernetes-native hardware-in-the-loop test operator for automotive ECUs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd())
	root.AddCommand(newECUSimCmd())
	root.AddCommand(newDoIPCmd())
	root.AddCommand(newAgentCmd())
	root.AddCommand(newControllerCmd())
	root.AddCommand(newDevCmd())
	root.AddCommand(newDemoCmd())
	return root
}
