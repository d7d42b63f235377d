package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/spf13/cobra"

	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// newECUSimCmd runs a simulated ECU, so jobs, agents and the doip command can be tried
// without a bench.
func newECUSimCmd() *cobra.Command {
	var (
		configPath       string
		listen           string
		logicalAddress   addressFlag
		vin, eid, gid    string
		negative         bool
		announce         int
		announceInterval time.Duration
		announceTo       string
		logRequests      bool
	)
	cmd := &cobra.Command{
		Use:   "ecusim",
		Short: "Run a simulated ECU (DoIP entity with a scripted UDS responder) until interrupted",
		Long: `Run a simulated ECU: a DoIP entity on TCP and UDP (same port) answering UDS with default
behaviour (sessions, reset, tester present, DIDs, DTCs, security access, routines) and the faults
of the optional YAML config (see docs/ecusim.md). Flags override the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg ecusim.Config
			if configPath != "" {
				var err error
				if cfg, err = ecusim.LoadConfig(configPath); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("listen") || cfg.Listen == "" {
				cfg.Listen = listen
			}
			if f.Changed("logical-address") {
				cfg.LogicalAddress = uint16(logicalAddress)
			}
			if f.Changed("vin") {
				cfg.VIN = vin
			}
			if f.Changed("eid") {
				cfg.EID = ecusim.Hex(eid)
			}
			if f.Changed("gid") {
				cfg.GID = ecusim.Hex(gid)
			}
			if f.Changed("negative") {
				cfg.Negative = negative
			}
			if f.Changed("announce") {
				cfg.Announce.Count = announce
			}
			if f.Changed("announce-interval") {
				cfg.Announce.Interval = announceInterval.String()
			}
			if f.Changed("announce-to") {
				cfg.Announce.To = announceTo
			}
			cfg.Logger = ecusimLogger(cmd.ErrOrStderr(), logRequests)
			sim, err := ecusim.New(cfg)
			if err != nil {
				return err
			}
			return sim.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML file with DIDs, DTCs, routines, security, faults and more ECUs (docs/ecusim.md)")
	f.StringVar(&listen, "listen", ecusim.DefaultListen, "TCP and UDP address to listen on (port 0 picks a free port)")
	logicalAddress = ecusim.DefaultLogicalAddress
	f.Var(&logicalAddress, "logical-address", "DoIP logical address of the simulated entity and its ECU")
	f.StringVar(&vin, "vin", ecusim.DefaultVIN, "vehicle identification number (17 characters)")
	f.StringVar(&eid, "eid", "", "entity identification, 6 bytes hex such as 00:1A:2B:3C:4D:5E (default 02:00:00:00 and the logical address)")
	f.StringVar(&gid, "gid", "", "group identification, 6 bytes hex (default: the EID)")
	f.BoolVar(&negative, "negative", false, "answer every UDS request with 7F SID 22 (a failing ECU)")
	f.IntVar(&announce, "announce", 0, "vehicle announcements to send after start")
	f.DurationVar(&announceInterval, "announce-interval", 500*time.Millisecond, "time between two vehicle announcements")
	f.StringVar(&announceTo, "announce-to", "255.255.255.255:13400", "destination of vehicle announcements")
	f.BoolVar(&logRequests, "log-requests", false, "log a line for every UDS request an ECU handled (its first 32 bytes and the answer's), so a test can count what reached the ECU")
	return cmd
}

// ecusimLogger writes the simulator's structured logs as one text line each; requests adds
// the per-request lines (verbosity 1).
func ecusimLogger(w io.Writer, requests bool) logr.Logger {
	opts := funcr.Options{}
	if requests {
		opts.Verbosity = 1
	}
	return funcr.New(func(prefix, args string) {
		fmt.Fprintln(w, args)
	}, opts)
}

// addressFlag is a 16-bit flag shown and accepted in hex (0x00E0), the way logical addresses
// are written on every DoIP document; decimal works too.
type addressFlag uint16

// String implements pflag.Value; zero is "0" so help does not show a meaningless default.
func (a *addressFlag) String() string {
	if *a == 0 {
		return "0"
	}
	return fmt.Sprintf("0x%04X", uint16(*a))
}

// Set implements pflag.Value.
func (a *addressFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return fmt.Errorf("want a 16-bit address such as 0x00E0")
	}
	*a = addressFlag(v)
	return nil
}

// Type implements pflag.Value.
func (a *addressFlag) Type() string { return "address" }
