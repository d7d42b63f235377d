// Command ecufleet is the one binary of ecufleet: controller, agent, simulated ECU, DoIP
// tester, the local development control plane, and the CI commands run, wait and results.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfiles, err := startProfiles()
	if err == nil {
		err = newRootCmd().ExecuteContext(ctx)
	}
	stopProfiles()
	stop()
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "Error:", msg)
		}
		os.Exit(exitCodeOf(err))
	}
}
