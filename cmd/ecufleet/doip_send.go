package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

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
	conn, addr, target, err := o.dialECU(ctx, "send")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c := uds.NewClient(conn, target)
	o.note("send " + uds.FormatHex(req))
	stats := newLoadStats(count)
	var (
		resp []byte
		nre  *uds.NegativeResponseError
		lat  time.Duration
	)
	start := time.Now()
	for i := range count {
		t0 := time.Now()
		resp, err = c.Request(ctx, req)
		lat = time.Since(t0)
		nre = nil
		if err != nil && !errors.As(err, &nre) {
			if i > 0 {
				err = fmt.Errorf("after %d answered requests: %w", i, err)
			}
			return nil, o.explain("send "+uds.FormatHex(req)+" to", fmt.Sprintf("%s (ECU 0x%04X)", addr, target), err)
		}
		stats.record(lat, nre == nil)
	}
	elapsed := time.Since(start)
	// Only the last exchange is shown, so only it is formatted: the loop measures the link.
	last := sendResult{Target: target, Request: uds.FormatHex(req), Response: uds.FormatHex(resp), LatencyMS: millis(lat)}
	switch {
	case nre != nil:
		last.Result, last.NRC = uds.FormatNRC(byte(nre.NRC)), uds.FormatNRC(byte(nre.NRC))
	case resp == nil:
		last.Result = "sent (positive response suppressed)"
	default:
		last.Result, last.Value = "positive", uds.DecodeValue(req, resp)
	}
	if count == 1 {
		return last, nil
	}
	return loadResult{Target: target, Request: last.Request, Count: stats.count(), Positive: stats.positive, Negative: stats.negative,
		ElapsedMS: millis(elapsed), RatePerSecond: stats.rate(elapsed),
		P50MS: millis(stats.percentile(50)), P99MS: millis(stats.percentile(99)), LastResponse: last.Response}, nil
}
