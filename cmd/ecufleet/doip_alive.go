package main

import (
	"context"
	"fmt"
	"time"
)

// aliveResult is the alive check answer.
type aliveResult struct {
	EntityAddress uint16  `json:"entityAddress"`
	SourceAddress uint16  `json:"sourceAddress"`
	RoundTripMS   float64 `json:"roundTripMillis"`
}

func (r aliveResult) table() ([]string, [][]string) {
	return []string{"ENTITY", "ALIVE SOURCE", "ROUND TRIP"},
		[][]string{{fmt.Sprintf("0x%04X", r.EntityAddress), fmt.Sprintf("0x%04X", r.SourceAddress), formatMillis(r.RoundTripMS)}}
}

func (o *doipOptions) alive(ctx context.Context, _ []string) (doipResult, error) {
	conn, addr, err := o.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	start := time.Now()
	o.note("alive check")
	resp, err := conn.AliveCheck(ctx)
	if err != nil {
		return nil, o.explain("alive check of", addr, err)
	}
	return aliveResult{EntityAddress: conn.EntityAddress(), SourceAddress: resp.SourceAddress, RoundTripMS: millis(time.Since(start))}, nil
}
