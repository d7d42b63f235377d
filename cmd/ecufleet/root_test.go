package main

import "testing"

func TestCommandName(t *testing.T) {
	for arg0, want := range map[string]string{
		"ecufleet":                            "ecufleet",
		"/usr/local/bin/ecufleet":             "ecufleet",
		"/home/u/.local/bin/kubectl-ecufleet": "kubectl ecufleet",
		"kubectl-ecufleet.exe":                "kubectl ecufleet",
		"kubectl-":                            "ecufleet",
		"./bin/something-else":                "ecufleet",
	} {
		if got := commandName(arg0); got != want {
			t.Errorf("commandName(%q) = %q, want %q", arg0, got, want)
		}
	}
}
