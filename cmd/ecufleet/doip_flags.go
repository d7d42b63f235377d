package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/ecufleet/ecufleet/pkg/doip"
)

// doipOptions are the flags shared by every `ecufleet doip` subcommand and the connection they
// build; a flag every subcommand needs (a capture file, say) belongs here, one only a subcommand
// needs on that subcommand.
type doipOptions struct {
	ecu             string
	logicalAddress  addressFlag
	tester          addressFlag
	protocolVersion uint8
	activationType  string
	output          string
	timeout         time.Duration
	pcap            string

	capture *capture // the --pcap recording while a subcommand runs, else nil
}

// register adds the shared flags to f (the doip command's persistent flags).
func (o *doipOptions) register(f *pflag.FlagSet) {
	o.tester = addressFlag(doip.DefaultTesterAddress)
	f.StringVar(&o.ecu, "ecu", "", "ECU or gateway address HOST[:PORT] (port 13400 by default); for discover, the broadcast address (default 255.255.255.255)")
	f.Var(&o.logicalAddress, "logical-address", "logical address of the target ECU for send (default: the entity address from routing activation)")
	f.Var(&o.tester, "tester", "tester logical address")
	f.Uint8Var(&o.protocolVersion, "protocol-version", doip.Version2012, "DoIP protocol version in headers (1: 2010, 2: 2012, 3: 2019, 4: 2019/Amd1)")
	f.StringVar(&o.activationType, "activation-type", "0", "routing activation type (0 default, 1 WWH-OBD, 0xE0 central security) or none to skip activation")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&o.timeout, "timeout", doip.DefaultControlTimeout, "wait for each DoIP answer (and the discovery window); UDS answers follow P2/P2* with response pending up to 60s")
	f.StringVar(&o.pcap, "pcap", "", "record this command's DoIP frames (TCP and UDP) as pcapng in FILE, for Wireshark")
}

// client builds the DoIP client from the flags.
func (o *doipOptions) client() (*doip.Client, error) {
	if o.protocolVersion < doip.Version2010 || o.protocolVersion > doip.Version2019Amd1 {
		return nil, fmt.Errorf("--protocol-version %d: want 1..4", o.protocolVersion)
	}
	c := &doip.Client{TesterAddress: uint16(o.tester), ProtocolVersion: o.protocolVersion,
		ControlTimeout: o.timeout, AckTimeout: o.timeout}
	if o.capture != nil {
		c.Hook = o.capture.hook
	}
	if strings.EqualFold(o.activationType, "none") {
		c.NoActivation = true
		return c, nil
	}
	t, err := strconv.ParseUint(o.activationType, 0, 8)
	if err != nil {
		return nil, fmt.Errorf("--activation-type %q: want a number 0..255 (0 default, 1 WWH-OBD, 0xE0 central security) or none", o.activationType)
	}
	c.ActivationType = byte(t)
	return c, nil
}

// target is the --ecu address, which every subcommand but discover needs.
func (o *doipOptions) target() (string, error) {
	if o.ecu == "" {
		return "", errors.New("--ecu is required: the ECU's or gateway's address, e.g. --ecu 192.168.0.10 or --ecu 127.0.0.1:13400")
	}
	return o.ecu, nil
}

// explain turns a low-level failure into an error that says what failed and what to try.
func (o *doipOptions) explain(what, addr string, err error) error {
	var ae *doip.ActivationError
	var nack *doip.DiagnosticNACKError
	var ne net.Error
	switch {
	case errors.As(err, &nack) && nack.Code == doip.DiagNACKUnknownTarget:
		return fmt.Errorf("%s %s: %w; check --logical-address", what, addr, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s %s: connection refused: is the ECU (or ecusim) listening there?", what, addr)
	case errors.As(err, &ae):
		return fmt.Errorf("%s %s: %w; try another --tester or --activation-type, or --activation-type none", what, addr, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s %s: no answer within %s (%w): check the address and that the ECU is powered, or raise --timeout", what, addr, o.timeout, err)
	}
	return fmt.Errorf("%s %s: %w", what, addr, err)
}

// udpTarget returns the client and the --ecu address for the UDP subcommands.
func (o *doipOptions) udpTarget() (*doip.Client, string, error) {
	addr, err := o.target()
	if err != nil {
		return nil, "", err
	}
	c, err := o.client()
	return c, addr, err
}

// dialECU dials as dial does and returns the logical address UDS requests go to as well:
// --logical-address, else the entity address routing activation gave; what names the
// subcommand in the error.
func (o *doipOptions) dialECU(ctx context.Context, what string) (*doip.Conn, string, uint16, error) {
	conn, addr, err := o.dial(ctx)
	if err != nil {
		return nil, "", 0, err
	}
	if o.logicalAddress != 0 {
		return conn, addr, uint16(o.logicalAddress), nil
	}
	if a := conn.EntityAddress(); a != 0 {
		return conn, addr, a, nil
	}
	conn.Close()
	return nil, "", 0, fmt.Errorf("%s: no routing activation gave the entity address; set --logical-address", what)
}

// dial connects and (unless --activation-type none) activates routing.
func (o *doipOptions) dial(ctx context.Context) (*doip.Conn, string, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, "", err
	}
	what := "routing activation"
	if c.NoActivation {
		what = "connect"
	}
	o.note(what)
	conn, err := c.Dial(ctx, addr)
	if err != nil {
		return nil, "", o.explain("connect", addr, err)
	}
	return conn, addr, nil
}
