package main

import (
	"context"
	"strconv"
)

// statusResult is the entity status response.
type statusResult struct {
	NodeType    string `json:"nodeType"`
	MaxSockets  byte   `json:"maxSockets"`
	OpenSockets byte   `json:"openSockets"`
	MaxDataSize uint32 `json:"maxDataSize,omitempty"`
}

func (r statusResult) table() ([]string, [][]string) {
	size := "-"
	if r.MaxDataSize != 0 {
		size = strconv.FormatUint(uint64(r.MaxDataSize), 10)
	}
	return []string{"NODE TYPE", "MAX SOCKETS", "OPEN SOCKETS", "MAX DATA SIZE"},
		[][]string{{r.NodeType, strconv.Itoa(int(r.MaxSockets)), strconv.Itoa(int(r.OpenSockets)), size}}
}

func (o *doipOptions) status(ctx context.Context, _ []string) (doipResult, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, err
	}
	o.note("entity status")
	st, err := c.EntityStatus(ctx, addr)
	if err != nil {
		return nil, o.explain("entity status of", addr, err)
	}
	r := statusResult{NodeType: st.NodeType.String(), MaxSockets: st.MaxSockets, OpenSockets: st.OpenSockets}
	if st.HasMaxDataSize {
		r.MaxDataSize = st.MaxDataSize
	}
	return r, nil
}

// powerModeResult is the diagnostic power mode response.
type powerModeResult struct {
	PowerMode string `json:"powerMode"`
}

func (r powerModeResult) table() ([]string, [][]string) {
	return []string{"POWER MODE"}, [][]string{{r.PowerMode}}
}

func (o *doipOptions) powerMode(ctx context.Context, _ []string) (doipResult, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, err
	}
	o.note("power mode")
	pm, err := c.PowerMode(ctx, addr)
	if err != nil {
		return nil, o.explain("power mode of", addr, err)
	}
	return powerModeResult{PowerMode: pm.Mode.String()}, nil
}
