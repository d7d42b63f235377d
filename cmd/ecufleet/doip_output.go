package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

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

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func formatMillis(ms float64) string { return strconv.FormatFloat(ms, 'f', 3, 64) + "ms" }
