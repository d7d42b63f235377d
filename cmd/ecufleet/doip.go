package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// doipOptions are the flags shared by every `ecufleet doip` subcommand.
type doipOptions struct {
	ecu             string
	logicalAddress  addressFlag
	tester          addressFlag
	protocolVersion uint8
	activationType  string
	output          string
	timeout         time.Duration
}

// newDoIPCmd is a DoIP/UDS tester on the command line, for checking an ECU or an ecusim by hand.
func newDoIPCmd() *cobra.Command {
	o := &doipOptions{tester: addressFlag(doip.DefaultTesterAddress)}
	cmd := &cobra.Command{
		Use:   "doip",
		Short: "Talk DoIP (ISO 13400-2) and UDS (ISO 14229) to an ECU or gateway",
		Long: `Talk DoIP and UDS to an ECU: discover entities, ask one for identification, entity status
or power mode (UDP), run an alive check, or send UDS requests over an activated TCP connection.`,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.ecu, "ecu", "", "ECU or gateway address HOST[:PORT] (port 13400 by default); for discover, the broadcast address (default 255.255.255.255)")
	f.Var(&o.logicalAddress, "logical-address", "logical address of the target ECU for send (default: the entity address from routing activation)")
	f.Var(&o.tester, "tester", "tester logical address")
	f.Uint8Var(&o.protocolVersion, "protocol-version", doip.Version2012, "DoIP protocol version in headers (1: 2010, 2: 2012, 3: 2019, 4: 2019/Amd1)")
	f.StringVar(&o.activationType, "activation-type", "0", "routing activation type (0 default, 1 WWH-OBD, 0xE0 central security) or none to skip activation")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&o.timeout, "timeout", doip.DefaultControlTimeout, "wait for each DoIP answer (and the discovery window); UDS answers follow P2/P2* with response pending up to 60s")
	cmd.AddCommand(
		o.command("discover", "Broadcast a vehicle identification request and list every entity that answers", cobra.NoArgs, o.discover),
		o.command("identify", "Ask one entity for its identification (VIN, logical address, EID, GID) over UDP", cobra.NoArgs, o.identify),
		o.command("status", "Ask one entity for its status (node type, sockets, maximum data size) over UDP", cobra.NoArgs, o.status),
		o.command("power-mode", "Ask one entity whether the vehicle is ready for diagnostics over UDP", cobra.NoArgs, o.powerMode),
		o.command("alive", "Connect over TCP, activate routing and run an alive check", cobra.NoArgs, o.alive),
		o.sendCommand(),
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
			res, err := run(cmd.Context(), args)
			if err != nil {
				return err
			}
			return o.print(cmd.OutOrStdout(), res)
		},
	}
}

// doipResult is what a subcommand prints: a value for JSON and its rows for the table.
type doipResult interface {
	table() (header []string, rows [][]string)
}

func (o *doipOptions) print(w io.Writer, res doipResult) error {
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	header, rows := res.table()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// client builds the DoIP client from the flags.
func (o *doipOptions) client() (*doip.Client, error) {
	if o.protocolVersion < doip.Version2010 || o.protocolVersion > doip.Version2019Amd1 {
		return nil, fmt.Errorf("--protocol-version %d: want 1..4", o.protocolVersion)
	}
	c := &doip.Client{TesterAddress: uint16(o.tester), ProtocolVersion: o.protocolVersion,
		ControlTimeout: o.timeout, AckTimeout: o.timeout}
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

// entityRow is one vehicle announcement, as discover and identify print it.
type entityRow struct {
	Address        string `json:"address,omitempty"`
	LogicalAddress uint16 `json:"logicalAddress"`
	VIN            string `json:"vin"`
	EID            string `json:"eid"`
	GID            string `json:"gid"`
	FurtherAction  byte   `json:"furtherAction"`
}

func newEntityRow(from string, a *doip.VehicleAnnouncement) entityRow {
	return entityRow{Address: from, LogicalAddress: a.LogicalAddress, VIN: doip.VINText(a.VIN),
		EID: doip.HardwareAddressText(a.EID), GID: doip.HardwareAddressText(a.GID), FurtherAction: a.FurtherAction}
}

func (r entityRow) cells() []string {
	return []string{r.Address, fmt.Sprintf("0x%04X", r.LogicalAddress), r.VIN, r.EID, r.GID, fmt.Sprintf("0x%02X", r.FurtherAction)}
}

var entityHeader = []string{"ADDRESS", "LOGICAL", "VIN", "EID", "GID", "FURTHER ACTION"}

func (r entityRow) table() ([]string, [][]string) { return entityHeader, [][]string{r.cells()} }

// entityRows is the discover result: a JSON list.
type entityRows []entityRow

func (rs entityRows) table() ([]string, [][]string) {
	rows := make([][]string, len(rs))
	for i, r := range rs {
		rows[i] = r.cells()
	}
	return entityHeader, rows
}

func (o *doipOptions) discover(ctx context.Context, _ []string) (doipResult, error) {
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	addr := o.ecu
	if addr == "" {
		addr = "255.255.255.255"
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	found, err := c.Discover(ctx, addr, doip.IdentifyQuery{})
	if err != nil {
		return nil, o.explain("discover on", addr, err)
	}
	rows := make(entityRows, 0, len(found))
	for _, a := range found {
		rows = append(rows, newEntityRow(a.From.String(), &a.VehicleAnnouncement))
	}
	slices.SortFunc(rows, func(a, b entityRow) int { return strings.Compare(a.Address, b.Address) })
	return rows, nil
}

func (o *doipOptions) identify(ctx context.Context, _ []string) (doipResult, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, err
	}
	a, err := c.Identify(ctx, addr, doip.IdentifyQuery{})
	if err != nil {
		return nil, o.explain("identify", addr, err)
	}
	return newEntityRow(addr, a), nil
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

// statusResult is the entity status response.
type statusResult struct {
	NodeType    string `json:"nodeType"`
	MaxSockets  byte   `json:"maxSockets"`
	OpenSockets byte   `json:"openSockets"`
	MaxDataSize uint32 `json:"maxDataSize,omitempty"`
}

func (r statusResult) table() ([]string, [][]string) {
	size := "-"
	if r.MaxDataSize != 0 {
		size = strconv.FormatUint(uint64(r.MaxDataSize), 10)
	}
	return []string{"NODE TYPE", "MAX SOCKETS", "OPEN SOCKETS", "MAX DATA SIZE"},
		[][]string{{r.NodeType, strconv.Itoa(int(r.MaxSockets)), strconv.Itoa(int(r.OpenSockets)), size}}
}

func (o *doipOptions) status(ctx context.Context, _ []string) (doipResult, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, err
	}
	st, err := c.EntityStatus(ctx, addr)
	if err != nil {
		return nil, o.explain("entity status of", addr, err)
	}
	r := statusResult{NodeType: st.NodeType.String(), MaxSockets: st.MaxSockets, OpenSockets: st.OpenSockets}
	if st.HasMaxDataSize {
		r.MaxDataSize = st.MaxDataSize
	}
	return r, nil
}

// powerModeResult is the diagnostic power mode response.
type powerModeResult struct {
	PowerMode string `json:"powerMode"`
}

func (r powerModeResult) table() ([]string, [][]string) {
	return []string{"POWER MODE"}, [][]string{{r.PowerMode}}
}

func (o *doipOptions) powerMode(ctx context.Context, _ []string) (doipResult, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, err
	}
	pm, err := c.PowerMode(ctx, addr)
	if err != nil {
		return nil, o.explain("power mode of", addr, err)
	}
	return powerModeResult{PowerMode: pm.Mode.String()}, nil
}

// dial connects and (unless --activation-type none) activates routing.
func (o *doipOptions) dial(ctx context.Context) (*doip.Conn, string, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, "", err
	}
	conn, err := c.Dial(ctx, addr)
	if err != nil {
		return nil, "", o.explain("connect", addr, err)
	}
	return conn, addr, nil
}

// aliveResult is the alive check answer.
type aliveResult struct {
	EntityAddress uint16  `json:"entityAddress"`
	SourceAddress uint16  `json:"sourceAddress"`
	RoundTripMS   float64 `json:"roundTripMillis"`
}

func (r aliveResult) table() ([]string, [][]string) {
	return []string{"ENTITY", "ALIVE SOURCE", "ROUND TRIP"},
		[][]string{{fmt.Sprintf("0x%04X", r.EntityAddress), fmt.Sprintf("0x%04X", r.SourceAddress), formatMillis(r.RoundTripMS)}}
}

func (o *doipOptions) alive(ctx context.Context, _ []string) (doipResult, error) {
	conn, addr, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	start := time.Now()
	resp, err := conn.AliveCheck(ctx)
	if err != nil {
		return nil, o.explain("alive check of", addr, err)
	}
	return aliveResult{EntityAddress: conn.EntityAddress(), SourceAddress: resp.SourceAddress, RoundTripMS: millis(time.Since(start))}, nil
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func formatMillis(ms float64) string { return strconv.FormatFloat(ms, 'f', 3, 64) + "ms" }

// sendCommand sends one UDS request, or repeats it as a quick load and latency check.
func (o *doipOptions) sendCommand() *cobra.Command {
	var count int
	cmd := o.command("send HEX", "Send a UDS request (hex, e.g. 22 F1 90) and print the response; --count N repeats it and prints rate and latency",
		cobra.MinimumNArgs(1), func(ctx context.Context, args []string) (doipResult, error) {
			return o.send(ctx, strings.Join(args, " "), count)
		})
	cmd.Flags().IntVar(&count, "count", 1, "send the request N times on one connection and print the rate and latency p50/p99")
	return cmd
}

// sendResult is one UDS exchange.
type sendResult struct {
	Target    uint16  `json:"target"`
	Request   string  `json:"request"`
	Response  string  `json:"response"`
	Result    string  `json:"result"`
	NRC       string  `json:"nrc,omitempty"`
	Value     string  `json:"value,omitempty"`
	LatencyMS float64 `json:"latencyMillis"`
}

func (r sendResult) table() ([]string, [][]string) {
	return []string{"TARGET", "REQUEST", "RESPONSE", "RESULT", "VALUE", "LATENCY"},
		[][]string{{fmt.Sprintf("0x%04X", r.Target), r.Request, orDash(r.Response), r.Result, orDash(r.Value), formatMillis(r.LatencyMS)}}
}

// loadResult summarises --count N exchanges.
type loadResult struct {
	Target        uint16  `json:"target"`
	Request       string  `json:"request"`
	Count         int     `json:"count"`
	Positive      int     `json:"positive"`
	Negative      int     `json:"negative"`
	ElapsedMS     float64 `json:"elapsedMillis"`
	RatePerSecond float64 `json:"ratePerSecond"`
	P50MS         float64 `json:"p50Millis"`
	P99MS         float64 `json:"p99Millis"`
	LastResponse  string  `json:"lastResponse"`
}

func (r loadResult) table() ([]string, [][]string) {
	return []string{"TARGET", "REQUEST", "COUNT", "POSITIVE", "NEGATIVE", "RATE", "P50", "P99", "LAST RESPONSE"},
		[][]string{{fmt.Sprintf("0x%04X", r.Target), r.Request, strconv.Itoa(r.Count), strconv.Itoa(r.Positive), strconv.Itoa(r.Negative),
			strconv.FormatFloat(r.RatePerSecond, 'f', 1, 64) + "/s", formatMillis(r.P50MS), formatMillis(r.P99MS), orDash(r.LastResponse)}}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (o *doipOptions) send(ctx context.Context, hexReq string, count int) (doipResult, error) {
	req, err := uds.ParseHex(hexReq)
	if err != nil {
		return nil, err
	}
	if len(req) == 0 {
		return nil, errors.New("send: the request is empty; give the UDS bytes in hex, e.g. 22 F1 90")
	}
	if count < 1 {
		return nil, fmt.Errorf("--count %d: want at least 1", count)
	}
	conn, addr, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	target := uint16(o.logicalAddress)
	if target == 0 {
		if target = conn.EntityAddress(); target == 0 {
			return nil, errors.New("send: no routing activation gave the entity address; set --logical-address")
		}
	}
	c := uds.NewClient(conn, target)
	latencies := make([]time.Duration, 0, count)
	var last sendResult
	positive, negative := 0, 0
	start := time.Now()
	for i := range count {
		t0 := time.Now()
		resp, err := c.Request(ctx, req)
		lat := time.Since(t0)
		var nre *uds.NegativeResponseError
		if err != nil && !errors.As(err, &nre) {
			if i > 0 {
				err = fmt.Errorf("after %d answered requests: %w", i, err)
			}
			return nil, o.explain("send "+uds.FormatHex(req)+" to", fmt.Sprintf("%s (ECU 0x%04X)", addr, target), err)
		}
		latencies = append(latencies, lat)
		last = sendResult{Target: target, Request: uds.FormatHex(req), Response: uds.FormatHex(resp), LatencyMS: millis(lat)}
		switch {
		case nre != nil:
			negative++
			last.Result, last.NRC = uds.FormatNRC(byte(nre.NRC)), uds.FormatNRC(byte(nre.NRC))
		case resp == nil:
			positive++
			last.Result = "sent (positive response suppressed)"
		default:
			positive++
			last.Result, last.Value = "positive", uds.DecodeValue(req, resp)
		}
	}
	if count == 1 {
		return last, nil
	}
	elapsed := time.Since(start)
	slices.Sort(latencies)
	return loadResult{Target: target, Request: last.Request, Count: count, Positive: positive, Negative: negative,
		ElapsedMS: millis(elapsed), RatePerSecond: float64(count) / elapsed.Seconds(),
		P50MS: millis(percentile(latencies, 50)), P99MS: millis(percentile(latencies, 99)), LastResponse: last.Response}, nil
}

// percentile is the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}
