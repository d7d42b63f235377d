package argocd_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// update rewrites the generated files (the argocd-cm patch, the recorded testdata) instead of
// comparing against them.
var update = flag.Bool("update", false, "rewrite argocd-cm-patch.yaml from the health.lua files and record testdata from a real run")

// group is the API group whose kinds have a health.lua, one directory per kind.
const group = "diag.ecufleet.io"

// kinds are the kinds with a health check; every one must have a script and tests.
var kinds = []string{"DiagnosticJob", "DiagnosticSchedule", "ECU"}

// healthStatus is what a health.lua returns, as Argo CD reads it.
type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// healthTests is a health_test.yaml, in the format of Argo CD's resource_customizations.
type healthTests struct {
	Tests []struct {
		HealthStatus healthStatus `json:"healthStatus"`
		InputPath    string       `json:"inputPath"`
	} `json:"tests"`
}

// validStatuses are the health statuses Argo CD accepts; any other becomes Unknown.
var validStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// runHealth runs a health script on an object the way Argo CD runs an argocd-cm script: only
// the package, base and table libraries (no string, no io, no os), the object as global obj,
// a one-second limit, and the script's returned table as the result.
func runHealth(script string, obj map[string]any) (healthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for name, open := range map[string]lua.LGFunction{lua.LoadLibName: lua.OpenPackage, lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(open), Protect: true}, lua.LString(name)); err != nil {
			return healthStatus{}, fmt.Errorf("opening Lua library %q: %w", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return healthStatus{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return healthStatus{}, fmt.Errorf("the script returned %s, want a table {status, message}", l.Get(-1).Type())
	}
	hs := healthStatus{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}
	if !slices.Contains(validStatuses, hs.Status) {
		return hs, fmt.Errorf("the script returned status %q, which Argo CD shows as Unknown: want one of %v", hs.Status, validStatuses)
	}
	return hs, nil
}

// toLua converts a decoded JSON value to Lua as Argo CD does: objects and arrays become
// tables, numbers LNumber, null nil.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	}
	return lua.LNil
}

// readObject reads a testdata object as Argo CD sees it: JSON-decoded, numbers as float64.
func readObject(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%s: empty object", path)
	}
	return obj, nil
}

// TestHealthScripts runs every kind's health.lua on each object of its health_test.yaml and
// compares status and message, as Argo CD's own resource_customizations tests do.
func TestHealthScripts(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(group, kind)
			script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var tests healthTests
			if err := yaml.UnmarshalStrict(data, &tests); err != nil {
				t.Fatalf("%s/health_test.yaml: %v", dir, err)
			}
			if len(tests.Tests) == 0 {
				t.Fatalf("%s/health_test.yaml lists no tests", dir)
			}
			seen := map[string]bool{}
			for _, tc := range tests.Tests {
				obj, err := readObject(filepath.Join(dir, tc.InputPath))
				if err != nil {
					t.Error(err)
					continue
				}
				if obj["kind"] != kind {
					t.Errorf("%s: kind %v, want %s", tc.InputPath, obj["kind"], kind)
				}
				got, err := runHealth(string(script), obj)
				if err != nil {
					t.Errorf("%s on %s: %v", dir, tc.InputPath, err)
					continue
				}
				if got != tc.HealthStatus {
					t.Errorf("%s on %s:\n got %+v\nwant %+v", dir, tc.InputPath, got, tc.HealthStatus)
				}
				seen[got.Status] = true
			}
			if !seen["Healthy"] || !seen["Degraded"] || !seen["Suspended"] {
				t.Errorf("%s/health_test.yaml covers statuses %v: want at least Healthy, Degraded and Suspended", dir, seen)
			}
		})
	}
}

// TestEveryTestdataFileIsTested keeps testdata and health_test.yaml in step: an object nobody
// checks is a test that was forgotten.
func TestEveryTestdataFileIsTested(t *testing.T) {
	for _, kind := range kinds {
		dir := filepath.Join(group, kind)
		data, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if rel := "testdata/" + filepath.Base(f); !strings.Contains(string(data), "inputPath: "+rel+"\n") {
				t.Errorf("%s is in no test of %s/health_test.yaml", f, dir)
			}
		}
	}
}

// TestScriptErrorsAreReported checks the runner itself: a script that fails, returns no table
// or an unknown status is an error, not a pass.
func TestScriptErrorsAreReported(t *testing.T) {
	for script, want := range map[string]string{
		`return string.format("%d", 1)`:          "string",
		`return 1`:                               "want a table",
		`return {status = "Fine", message = ""}`: "Unknown",
		`while true do end`:                      "context deadline exceeded",
	} {
		_, err := runHealth(script, map[string]any{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("script %q: error %v, want one containing %q", script, err, want)
		}
	}
}

// TestScriptsTolerateMissingFields runs every script on objects without spec or status, as
// Argo CD may see them right after creation or from an older version: a status, never an error.
func TestScriptsTolerateMissingFields(t *testing.T) {
	for _, kind := range kinds {
		script, err := os.ReadFile(filepath.Join(group, kind, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range []map[string]any{
			{"kind": kind},
			{"kind": kind, "spec": map[string]any{}, "status": map[string]any{}},
			{"kind": kind, "status": map[string]any{"conditions": []any{}, "lastRun": map[string]any{}}},
		} {
			if hs, err := runHealth(string(script), obj); err != nil || hs.Message == "" {
				t.Errorf("%s on %v: %+v, %v: want a status with a message", kind, obj, hs, err)
			}
		}
	}
}
