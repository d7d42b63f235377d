package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ecufleet/ecufleet/pkg/doip"
)

// entityRow is one vehicle announcement, as discover and identify print it.
type entityRow struct {
	Address        string `json:"address,omitempty"`
	LogicalAddress uint16 `json:"logicalAddress"`
	VIN            string `json:"vin"`
	EID            string `json:"eid"`
	GID            string `json:"gid"`
	FurtherAction  byte   `json:"furtherAction"`
}

func newEntityRow(from string, a *doip.VehicleAnnouncement) entityRow {
	return entityRow{Address: from, LogicalAddress: a.LogicalAddress, VIN: doip.VINText(a.VIN),
		EID: doip.HardwareAddressText(a.EID), GID: doip.HardwareAddressText(a.GID), FurtherAction: a.FurtherAction}
}

func (r entityRow) cells() []string {
	return []string{r.Address, fmt.Sprintf("0x%04X", r.LogicalAddress), r.VIN, r.EID, r.GID, fmt.Sprintf("0x%02X", r.FurtherAction)}
}

var entityHeader = []string{"ADDRESS", "LOGICAL", "VIN", "EID", "GID", "FURTHER ACTION"}

func (r entityRow) table() ([]string, [][]string) { return entityHeader, [][]string{r.cells()} }

// entityRows is the discover result: a JSON list.
type entityRows []entityRow

func (rs entityRows) table() ([]string, [][]string) {
	rows := make([][]string, len(rs))
	for i, r := range rs {
		rows[i] = r.cells()
	}
	return entityHeader, rows
}

func (o *doipOptions) discover(ctx context.Context, _ []string) (doipResult, error) {
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	addr := o.ecu
	if addr == "" {
		addr = "255.255.255.255"
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	o.note("discover")
	found, err := c.Discover(ctx, addr, doip.IdentifyQuery{})
	if err != nil {
		return nil, o.explain("discover on", addr, err)
	}
	rows := make(entityRows, 0, len(found))
	for _, a := range found {
		rows = append(rows, newEntityRow(a.From.String(), &a.VehicleAnnouncement))
	}
	slices.SortFunc(rows, func(a, b entityRow) int { return strings.Compare(a.Address, b.Address) })
	return rows, nil
}

func (o *doipOptions) identify(ctx context.Context, _ []string) (doipResult, error) {
	c, addr, err := o.udpTarget()
	if err != nil {
		return nil, err
	}
	o.note("identify")
	a, err := c.Identify(ctx, addr, doip.IdentifyQuery{})
	if err != nil {
		return nil, o.explain("identify", addr, err)
	}
	return newEntityRow(addr, a), nil
}
