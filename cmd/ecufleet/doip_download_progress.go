package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

const (
	// plainProgressEvery spaces the progress lines written to a log (not a terminal).
	plainProgressEvery = 2 * time.Second
	// barRedrawEvery bounds how often the terminal bar is redrawn: blocks come far faster.
	barRedrawEvery = 100 * time.Millisecond
	// barWidth is the number of cells of the bar.
	barWidth = 30
)

// transferProgress shows how far a download got: a bar redrawn in place on a terminal, a
// plain line every plainProgressEvery otherwise (CI logs), and a final line with bytes,
// blocks, seconds and MB/s.
type transferProgress struct {
	w     io.Writer
	tty   bool
	every time.Duration // between two plain lines
	total int64
	start time.Time
	last  time.Time // when the bar or a line was last written
	drawn bool      // the bar is on screen
}

func newTransferProgress(w io.Writer, total int64) *transferProgress {
	now := time.Now()
	return &transferProgress{w: w, tty: isTerminal(w), every: plainProgressEvery, total: total, start: now, last: now}
}

// isTerminal reports whether w is a terminal, where the bar can redraw itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update records that bytes in blocks were accepted so far; it writes only when due.
func (p *transferProgress) update(bytes int64, blocks int) {
	now := time.Now()
	switch {
	case p.tty && now.Sub(p.last) >= barRedrawEvery:
		fmt.Fprintf(p.w, "\r\033[K%s", p.bar(bytes, blocks, now))
		p.drawn = true
	case !p.tty && now.Sub(p.last) >= p.every:
		fmt.Fprintf(p.w, "Downloading: %s\n", p.status(bytes, blocks, now))
	default:
		return
	}
	p.last = now
}

// finish clears the bar and writes the final line; it returns the time the download took.
func (p *transferProgress) finish(bytes int64, blocks int, ok bool) time.Duration {
	elapsed := time.Since(p.start)
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
	verb := "Downloaded"
	if !ok {
		verb = "Stopped after"
	}
	fmt.Fprintf(p.w, "%s %d of %d bytes in %d blocks, %.3f s, %.2f MB/s\n", verb, bytes, p.total, blocks, elapsed.Seconds(), megabytesPerSecond(bytes, elapsed))
	return elapsed
}

// status is "bytes of total (percent), blocks, rate".
func (p *transferProgress) status(bytes int64, blocks int, now time.Time) string {
	return fmt.Sprintf("%d of %d bytes (%.0f%%), %d blocks, %.2f MB/s", bytes, p.total, p.percent(bytes), blocks, megabytesPerSecond(bytes, now.Sub(p.start)))
}

// bar is the terminal line: a bar of barWidth cells, then the status.
func (p *transferProgress) bar(bytes int64, blocks int, now time.Time) string {
	full := int(p.percent(bytes) / 100 * barWidth)
	return "[" + strings.Repeat("#", full) + strings.Repeat(".", barWidth-full) + "] " + p.status(bytes, blocks, now)
}

func (p *transferProgress) percent(bytes int64) float64 {
	if p.total <= 0 {
		return 100
	}
	return min(100, max(0, float64(bytes)*100/float64(p.total)))
}
