package ecusim

import (
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// logLines collects a funcr logger's lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(_, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, args)
}

// containing returns the lines that contain every one of parts.
func (l *logLines) containing(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

func TestVerboseLogShowsEveryHandledRequestOnce(t *testing.T) {
	var logs logLines
	cfg := writableDIDConfig()
	cfg.Logger = funcr.New(logs.add, funcr.Options{Verbosity: 1})
	s := startSim(t, cfg)
	if _, err := writeOnce(t, s, "12 34"); err != nil {
		t.Fatal(err)
	}
	conn := dial(t, s)
	c := uds.NewClient(conn, DefaultLogicalAddress)
	ask(t, c, "22 01 00")
	ask(t, c, "31 01 "+strings.Repeat("AB ", 40)) // a long request is cut

	if got := logs.containing(`"msg"="UDS request handled"`, `"target"="0x00E0"`, `"request"="2E 01 00 12 34"`, `"response"="6E 01 00"`); len(got) != 1 {
		t.Errorf("lines for the 2E write: %q, want exactly one", got)
	}
	if got := logs.containing(`"request"="22 01 00"`, `"response"="62 01 00 12 34"`); len(got) != 1 {
		t.Errorf("lines for the 22 read: %q, want exactly one", got)
	}
	long := logs.containing(`"request"="31 01 AB`)
	if len(long) != 1 || !strings.Contains(long[0], " ... (42 bytes)") {
		t.Errorf("lines for the long 31: %q, want one cut after 32 bytes naming 42", long)
	}
}

func TestRequestLogIsOffAtVerbosityZero(t *testing.T) {
	var logs logLines
	cfg := writableDIDConfig()
	cfg.Logger = funcr.New(logs.add, funcr.Options{})
	s := startSim(t, cfg)
	if _, err := writeOnce(t, s, "12 34"); err != nil {
		t.Fatal(err)
	}
	if got := logs.containing("UDS request handled"); len(got) != 0 {
		t.Errorf("request lines at verbosity 0: %q", got)
	}
	if got := logs.containing("ECU simulator ready"); len(got) != 1 {
		t.Errorf("ready lines: %q, want one (the logger is wired)", got)
	}
}
