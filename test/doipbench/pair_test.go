package doipbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/ecufleet/ecufleet/internal/benchstat"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	count    = flag.Int("doipbench.count", 20000, "exchanges per run, for both pairs")
	rounds   = flag.Int("doipbench.rounds", 5, "runs of each pair, interleaved; the medians are reported")
	profile  = flag.String("doipbench.profile", "", "directory for CPU profiles and execution traces of both stack processes, from one extra run")
	baseline = flag.String("doipbench.baseline", "", "an earlier ecufleet binary whose doip send and ecusim run a third pair in each round, to compare before and after in one sitting")
)

// BenchmarkWholeStack runs `ecufleet doip send 3E00 --count N` against `ecufleet ecusim` and a
// raw echo of the same bytes, each pair two processes on 127.0.0.1, in interleaved rounds and
// in every placement, and prints every round, the medians and their ratio (the goal: within
// 1.5x of the raw pair).
func BenchmarkWholeStack(b *testing.B) {
	bin := buildEcufleet(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	places, err := placements()
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	var all []*placed
	for _, pl := range places {
		p := &placed{placement: pl}
		p.sim = startProcess(b, command(ctx, self, pl.server, bin, "ecusim", "--listen", "127.0.0.1:0"), simReady)
		p.echo = startProcess(b, roleCommand(ctx, self, pl.server, "echo-server"), echoReady)
		if *baseline != "" {
			p.baseSim = startProcess(b, command(ctx, self, pl.server, *baseline, "ecusim", "--listen", "127.0.0.1:0"), simReady)
		}
		all = append(all, p)
	}
	for b.Loop() {
		for r := range *rounds {
			for _, p := range all {
				p.raw.add(runRaw(b, self, p.client, p.echo))
				p.stack.add(runStack(b, self, bin, p.client, p.sim, nil))
				fmt.Printf("round %d, %-12s raw %7.1f ms  stack %7.1f ms  ratio %.2f", r+1, p.name+":", p.raw.ms[r], p.stack.ms[r], p.stack.ms[r]/p.raw.ms[r])
				if p.baseSim != nil {
					p.base.add(runStack(b, self, *baseline, p.client, p.baseSim, nil))
					fmt.Printf("  baseline %7.1f ms  ratio %.2f", p.base.ms[r], p.base.ms[r]/p.raw.ms[r])
				}
				fmt.Println()
			}
		}
		fmt.Printf("%d exchanges of 3E 00 (14 bytes out, 27 back), median of %d rounds (CPU: both processes, user and system):\n", *count, *rounds)
		for _, p := range all {
			p.report(b)
		}
		fmt.Printf("goal: stack/raw 1.5 or less; load average %s\n", loadAverage())
	}
	if *profile != "" {
		profiled(b, self, bin)
	}
}

// placed is one placement's servers and the runs measured against them.
type placed struct {
	placement
	echo, sim, baseSim *process
	raw, stack, base   series
}

// report prints the placement's medians and reports its ratio as a metric of its own.
func (p *placed) report(b *testing.B) {
	where := "wherever the kernel puts them"
	if p.server != nil {
		where = fmt.Sprintf("server on CPU %v, client on CPU %v", p.server, p.client)
	}
	fmt.Printf("%s (%s):\n", p.name, where)
	rawMS := p.raw.print("raw two-process TCP echo")
	stackMS := p.stack.print("doip send against ecusim")
	if p.baseSim != nil {
		baseMS := p.base.print("baseline binary")
		fmt.Printf("  %-26s %8.2f\n", "ratio baseline/raw", baseMS/rawMS)
	}
	fmt.Printf("  %-26s %8.2f\n", "ratio stack/raw", stackMS/rawMS)
	unit := strings.ReplaceAll(p.name, " ", "-") + "-"
	b.ReportMetric(rawMS*1e3/float64(*count), unit+"raw-µs/exchange")
	b.ReportMetric(stackMS*1e3/float64(*count), unit+"stack-µs/exchange")
	b.ReportMetric(stackMS/rawMS, unit+"stack/raw")
}

// series is the milliseconds and CPU milliseconds of one pair's runs, a round each.
type series struct{ ms, cpu []float64 }

func (s *series) add(ms, cpuMS float64) {
	s.ms, s.cpu = append(s.ms, ms), append(s.cpu, cpuMS)
}

// print writes the series' medians on a line named what and returns the median milliseconds.
func (s *series) print(what string) float64 {
	ms, n := benchstat.Median(s.ms), float64(*count)
	fmt.Printf("  %-26s %8.1f ms  %6.2f µs/exchange  %8.0f/s  CPU %6.2f µs/exchange\n", what, ms, ms*1e3/n, n/ms*1e3, benchstat.Median(s.cpu)*1e3/n)
	return ms
}

// profiled runs the stack pair once more with CPU profiles and execution traces of both
// processes, from a simulator of its own that writes its profiles when it stops.
func profiled(b *testing.B, self, bin string) {
	dir, err := filepath.Abs(*profile)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	// The profiles name the binary's symbols; keep a copy beside them for go tool pprof.
	if out, err := exec.Command("cp", bin, filepath.Join(dir, "ecufleet")).CombinedOutput(); err != nil {
		b.Fatalf("copy the binary next to the profiles: %v\n%s", err, out)
	}
	bin = filepath.Join(dir, "ecufleet")
	cmd := exec.Command(bin, "ecusim", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ECUFLEET_CPUPROFILE="+filepath.Join(dir, "ecusim.cpu"), "ECUFLEET_TRACE="+filepath.Join(dir, "ecusim.trace"))
	psim := startProcess(b, cmd, simReady)
	ms, _ := runStack(b, self, bin, nil, psim, []string{"ECUFLEET_CPUPROFILE=" + filepath.Join(dir, "send.cpu"), "ECUFLEET_TRACE=" + filepath.Join(dir, "send.trace")})
	psim.stop(b)
	fmt.Printf("profiled run: %.1f ms; profiles in %s: go tool pprof -top %s %s/send.cpu (or ecusim.cpu); go tool trace %s/send.trace\n", ms, dir, bin, dir, dir)
}

// runRaw times one run of the raw pair's client against the running echo server: its loop's
// milliseconds, and the CPU milliseconds of both processes over the run.
func runRaw(b *testing.B, self string, cpus []int, echo *process) (ms, cpuMS float64) {
	cmd := roleCommand(b.Context(), self, cpus, "echo-client")
	cmd.Env = append(cmd.Env, envAddr+"="+echo.addr, envCount+"="+strconv.Itoa(*count))
	var res rawResult
	cpuMS = runJSON(b, cmd, echo, &res)
	return res.ElapsedMS, cpuMS
}

// runStack times one `ecufleet doip send 3E00 --count N` against the running simulator, as
// runRaw does, on cpus.
func runStack(b *testing.B, self, bin string, cpus []int, sim *process, env []string) (ms, cpuMS float64) {
	cmd := command(b.Context(), self, cpus, bin, "doip", "send", "3E00", "--count", strconv.Itoa(*count), "--ecu", sim.addr, "-o", "json")
	cmd.Env = append(cmd.Environ(), env...)
	var res struct {
		Count     int     `json:"count"`
		Positive  int     `json:"positive"`
		ElapsedMS float64 `json:"elapsedMillis"`
	}
	cpuMS = runJSON(b, cmd, sim, &res)
	if res.Positive != *count {
		b.Fatalf("doip send: %d positive responses of %d", res.Positive, *count)
	}
	return res.ElapsedMS, cpuMS
}

// runJSON runs a client against server, decodes its JSON output into v and returns the CPU
// milliseconds both processes spent meanwhile (the client's whole life, which includes its
// start; the server's at /proc's 10 ms resolution).
func runJSON(b *testing.B, cmd *exec.Cmd, server *process, v any) (cpuMS float64) {
	before := server.cpuMS(b)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s: %v\n%s", cmd, err, stderrOf(err))
	}
	if err := json.Unmarshal(out, v); err != nil {
		b.Fatalf("%s: decode %q: %v", cmd, out, err)
	}
	client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return server.cpuMS(b) - before + float64(client.Microseconds())/1e3
}

// cpuMS is the user and system CPU the process has used so far, from /proc/PID/stat.
func (p *process) cpuMS(b *testing.B) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses and may hold spaces: utime
	// and stime are the 12th and 13th of them, in clock ticks (100 per second on Linux).
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) * 10
}

// loadAverage is the machine's 1-minute load average, to read the figures by.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}

func roleCommand(ctx context.Context, self string, cpus []int, role string) *exec.Cmd {
	cmd := command(ctx, self, cpus, self)
	cmd.Env = append(cmd.Environ(), envRole+"="+role)
	return cmd
}

// buildEcufleet builds the binary under test once per benchmark.
func buildEcufleet(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "ecufleet")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/ecufleet").CombinedOutput()
	if err != nil {
		b.Fatalf("go build ./cmd/ecufleet: %v\n%s", err, out)
	}
	return bin
}

// A process of the pair that serves until the benchmark ends, and the address it listens on,
// read from its first lines of output.
type process struct {
	cmd  *exec.Cmd
	addr string
}

var (
	simReady  = regexp.MustCompile(`"msg"="ECU simulator ready" "addr"="([^"]+)"`)
	echoReady = regexp.MustCompile(`^(127\.0\.0\.1:\d+)$`)
)

func startProcess(b *testing.B, cmd *exec.Cmd, ready *regexp.Regexp) *process {
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // the simulator logs to stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("%s: %v", cmd, err)
	}
	p := &process{cmd: cmd}
	b.Cleanup(func() { p.stop(b) })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		for sc.Scan() { // keep draining, so the process never blocks on a full pipe
		}
	}()
	select {
	case p.addr = <-found:
		return p
	case <-time.After(30 * time.Second):
		b.Fatalf("%s did not say where it listens within 30s", cmd)
		return nil
	}
}

// stop interrupts the process and waits for it, so a profiled simulator writes its profiles.
func (p *process) stop(b *testing.B) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
		b.Errorf("%s did not stop within 10s of SIGINT", p.cmd)
	}
}
