package main

import (
	"errors"
	"fmt"

	"github.com/ecufleet/ecufleet/internal/report"
)

// exitError carries the exit code of run, wait and results to main, so a CI pipeline can tell
// a wrong ECU answer (1) from a broken rack (2) from a broken pipeline file (3).
type exitError struct {
	code int
	err  error
}

// Error is the message for stderr; empty when the output already told (a failed job's table).
func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// exitCode is an exitError without a message of its own.
func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// exitf is an exitError with a formatted message.
func exitf(code int, format string, a ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, a...)}
}

// usageError marks a wrong command line: exit 3, nothing was run.
func usageError(err error) error {
	return &exitError{code: report.ExitNothingRun, err: err}
}

// exitCodeOf is the process exit code for the error a command returned.
func exitCodeOf(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}
