package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// newDoIPCmd is a DoIP/UDS tester on the command line, for checking an ECU or an ecusim by hand.
func newDoIPCmd() *cobra.Command {
	o := &doipOptions{}
	cmd := &cobra.Command{
		Use:   "doip",
		Short: "Talk DoIP (ISO 13400-2) and UDS (ISO 14229) to an ECU or gateway",
		Long: `Talk DoIP and UDS to an ECU: discover entities, ask one for identification, entity status
or power mode (UDP), run an alive check, send UDS requests over an activated TCP connection,
or flash an image with download. --pcap FILE records any of them as pcapng for Wireshark.`,
	}
	o.register(cmd.PersistentFlags())
	// A new subcommand (such as download) is one doip_<name>.go file and one line here.
	cmd.AddCommand(
		o.command("discover", "Broadcast a vehicle identification request and list every entity that answers", cobra.NoArgs, o.discover),
		o.command("identify", "Ask one entity for its identification (VIN, logical address, EID, GID) over UDP", cobra.NoArgs, o.identify),
		o.command("status", "Ask one entity for its status (node type, sockets, maximum data size) over UDP", cobra.NoArgs, o.status),
		o.command("power-mode", "Ask one entity whether the vehicle is ready for diagnostics over UDP", cobra.NoArgs, o.powerMode),
		o.command("alive", "Connect over TCP, activate routing and run an alive check", cobra.NoArgs, o.alive),
		o.sendCommand(),
		o.downloadCommand(),
	)
	return cmd
}

// command wraps one subcommand's action with flag validation and output.
func (o *doipOptions) command(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, args []string) (doipResult, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "table" && o.output != "json" {
				return fmt.Errorf("--output %q: want table or json", o.output)
			}
			if o.pcap != "" {
				c, err := openCapture(o.pcap)
				if err != nil {
					return err
				}
				o.capture = c
				defer func() { o.capture = nil }()
			}
			res, err := run(cmd.Context(), args)
			if o.capture != nil {
				// Written even when the command failed: a failure's trace is the one wanted.
				if cerr := o.capture.close(); cerr != nil {
					err = errors.Join(err, cerr)
				}
			}
			if err != nil {
				return err
			}
			return o.print(cmd.OutOrStdout(), res)
		},
	}
}
