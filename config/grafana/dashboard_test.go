package grafana_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	_ "github.com/ecufleet/ecufleet/controllers" // registers ecufleet's metrics, as the controller binary does
)

// wantMetrics are what the dashboard must show: queues and waits, results, ECU readiness and
// health, agent liveness, flash throughput, schedule runs.
var wantMetrics = []string{
	"ecufleet_queue_depth", "ecufleet_queue_oldest_wait_seconds", "ecufleet_jobs_finished_total",
	"ecufleet_job_wait_seconds_bucket", "ecufleet_job_run_seconds_bucket", "ecufleet_ecus_ready",
	"ecufleet_ecus_healthy", "ecufleet_agents_ready", "ecufleet_flash_throughput_bytes_per_second_bucket",
	"ecufleet_flash_bytes_total", "ecufleet_schedule_runs_total",
}

// dashboard is the part of the Grafana JSON model the test reads.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

// variable is a dashboard template variable.
type variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

type panel struct {
	Title      string         `json:"title"`
	Type       string         `json:"type"`
	Datasource map[string]any `json:"datasource"`
	Targets    []struct {
		Expr       string         `json:"expr"`
		Datasource map[string]any `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("ecufleet.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("ecufleet.json: %v", err)
	}
	return d
}

// queries returns every PromQL expression of the dashboard: panel targets and the selectors of
// label_values() template queries.
func queries(t *testing.T, d dashboard) []string {
	t.Helper()
	var out []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q queries nothing", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q has a target without expr", p.Title)
				}
				for _, ds := range []map[string]any{p.Datasource, tg.Datasource} {
					if ds["uid"] != "${datasource}" {
						t.Errorf("panel %q uses data source %v: want the ${datasource} variable, so that an import picks the Prometheus", p.Title, ds)
					}
				}
				out = append(out, tg.Expr)
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s queries %q: want label_values(<selector>, <label>)", v.Name, q.Query)
			continue
		}
		out = append(out, m[1])
	}
	return out
}

var (
	labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	// Parts of PromQL that hold no metric names: strings, label matchers, ranges, grouping
	// clauses, Grafana variables.
	stringLit = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	matchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	grouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	variables = regexp.MustCompile(`\$\{?\w+\}?`)
	ident     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	keywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames extracts the metric names of a PromQL expression: the identifiers left once
// strings, matchers, ranges, grouping clauses and variables are gone, that are neither a
// function call nor a keyword.
func metricNames(expr string) []string {
	s := stringLit.ReplaceAllString(expr, " ")
	s = matchers.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	s = variables.ReplaceAllString(s, " ")
	var names []string
	for _, m := range ident.FindAllStringSubmatchIndex(s, -1) {
		word, call := s[m[0]:m[1]], m[2] >= 0
		if m[0] > 0 && (isDigit(s[m[0]-1]) || s[m[0]-1] == '.') { // the unit of 5m, the exponent of 1e3
			continue
		}
		if call || slices.Contains(keywords, strings.ToLower(word)) {
			continue
		}
		names = append(names, word)
	}
	return names
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{ns=~"$namespace"}[$__rate_interval])))`: {"a_seconds_bucket"},
		`sum without (pod) (b) / on (x) group_left (y) c offset 5m`:                                          {"b", "c"},
		`d{job="e f"} > bool 0 and rate (g[1m])`:                                                             {"d", "g"},
		`max_over_time(h[5m:1m]) or vector(1)`:                                                               {"h"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %v, want %v", expr, got, want)
		}
	}
}

// registry is what controller-runtime's registry serves, and the names it holds.
type registry struct{ families map[string]string } // name -> type

func gather(t *testing.T) registry {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	r := registry{families: map[string]string{}}
	for _, f := range families {
		r.families[f.GetName()] = f.GetType().String()
	}
	return r
}

// registered reports whether a metric name (a histogram's _bucket, _sum or _count series
// included) is registered. A vector with no series yet is not in Gather's answer, so a name
// Gather lacks is tried as a new collector: the registry refuses a name it holds.
func (r registry) registered(name string) bool {
	if _, ok := r.families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if typ := r.families[base]; typ == "HISTOGRAM" || typ == "SUMMARY" || (typ == "" && taken(base)) {
				return true
			}
		}
	}
	return taken(name)
}

// taken reports whether the registry already holds a collector of this name.
func taken(name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})
	if err := metrics.Registry.Register(probe); err != nil {
		return true
	}
	metrics.Registry.Unregister(probe)
	return false
}

// TestRegistered checks the registry lookup itself: a histogram's series and a vector without
// series count, an unknown name does not (and is not left registered by the probe).
func TestRegistered(t *testing.T) {
	reg := gather(t)
	for name, want := range map[string]bool{
		"ecufleet_job_wait_seconds_bucket":   true,
		"ecufleet_job_wait_seconds_count":    true,
		"ecufleet_queue_oldest_wait_seconds": true,
		"ecufleet_no_such_metric":            false,
		"ecufleet_no_such_metric_bucket":     false,
	} {
		for range 2 {
			if got := reg.registered(name); got != want {
				t.Errorf("registered(%s) = %v, want %v", name, got, want)
			}
		}
	}
}

// TestDashboardQueriesRegisteredMetrics fails when the dashboard queries a metric that the
// controller does not register (a typo, a rename), or leaves out one it must show.
func TestDashboardQueriesRegisteredMetrics(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both, so that a re-import replaces it", d.UID, d.Title)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v variable) bool { return v.Type == "datasource" && v.Name == "datasource" }) {
		t.Error("the dashboard has no datasource variable named datasource")
	}
	reg := gather(t)
	used := map[string]bool{}
	for _, q := range queries(t, d) {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("query %q names no metric", q)
		}
		for _, name := range names {
			used[name] = true
			if !reg.registered(name) {
				t.Errorf("query %q uses %s, which the controller does not register", q, name)
			}
		}
	}
	for _, name := range wantMetrics {
		if !used[name] {
			t.Errorf("the dashboard does not query %s", name)
		}
	}
}
