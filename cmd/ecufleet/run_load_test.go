package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const loadJob = `apiVersion: diag.ecufleet.io/v1alpha1
kind: DiagnosticJob
metadata: {name: vin}
spec:
  ecuRef: {name: engine}
  steps:
  - name: vin
    uds: {readDataByIdentifier: {did: 0xF190}}
`

func TestLoadJobs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("b.yml", loadJob)
	write("a.yaml", "# leading comment\n---\n"+loadJob+"---\n"+strings.Replace(loadJob, "name: vin}", "name: second}", 1)+"---\n")
	write("ignored.txt", "not yaml at all: [")
	jobs, err := loadJobs([]string{dir, "-"}, strings.NewReader(loadJob))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range jobs {
		got = append(got, filepath.Base(l.file)+"#"+l.job.Name)
	}
	want := "a.yaml#vin a.yaml#second b.yml#vin <stdin>#vin"
	if strings.Join(got, " ") != want {
		t.Errorf("loaded %v, want %s", got, want)
	}
	if jobs[1].where() != filepath.Join(dir, "a.yaml")+", document 2" {
		t.Errorf("where() = %q", jobs[1].where())
	}

	for name, tc := range map[string]struct{ text, wantErr string }{
		"unknown field": {strings.Replace(loadJob, "steps:", "stepz:", 1), `unknown field "stepz"`},
		"other kind":    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", `kind "ConfigMap"`},
		"not yaml":      {"a: [1, 2\n", "not YAML"},
		"no name":       {strings.Replace(loadJob, "metadata: {name: vin}", "metadata: {}", 1), "neither metadata.name"},
		"second bad":    {loadJob + "---\nkind: Pod\n", "document 2"},
	} {
		p := write(strings.ReplaceAll(name, " ", "-")+".yaml", tc.text)
		if _, err := loadJobs([]string{p}, nil); err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", name, err, p, tc.wantErr)
		}
	}
	if _, err := loadJobs([]string{t.TempDir()}, nil); err == nil {
		t.Error("an empty directory loaded without error")
	}
}
