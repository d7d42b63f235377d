package ctxtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"elapses", context.Background(), time.Millisecond, nil},
		{"zero on a live context", context.Background(), 0, nil},
		{"zero on an ended context", cancelled, 0, context.Canceled},
		{"an ended context cuts an hour short", cancelled, time.Hour, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Sleep(c.ctx, c.d); !errors.Is(err, c.want) {
				t.Fatalf("Sleep(%v) = %v, want %v", c.d, err, c.want)
			}
		})
	}
}
