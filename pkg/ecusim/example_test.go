package ecusim_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// A Sim is a scripted ECU behind a real DoIP entity: start it on a free 127.0.0.1 port and
// talk to it with the doip and uds clients, as the agent does.
func ExampleSim() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sim, err := ecusim.New(ecusim.Config{Listen: "127.0.0.1:0", VIN: "WVWZZZ1JZXW000042"})
	if err != nil {
		log.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer sim.Shutdown(context.Background())

	conn, err := (&doip.Client{}).Dial(ctx, sim.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := uds.NewClient(conn, ecusim.DefaultLogicalAddress)
	req := uds.ReadDataByIdentifier(uds.DIDVIN)
	resp, err := c.Request(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ECU 0x%04X VIN %s\n", ecusim.DefaultLogicalAddress, uds.DecodeValue(req, resp))
	// Output: ECU 0x00E0 VIN WVWZZZ1JZXW000042
}

// Negative makes every ECU of the simulator refuse every request with conditionsNotCorrect,
// to test how a job reports a failing ECU.
func ExampleConfig_negative() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sim, err := ecusim.New(ecusim.Config{Listen: "127.0.0.1:0", Negative: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := sim.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer sim.Shutdown(context.Background())

	conn, err := (&doip.Client{}).Dial(ctx, sim.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	resp, err := uds.NewClient(conn, ecusim.DefaultLogicalAddress).Request(ctx, uds.ReadDataByIdentifier(uds.DIDVIN))
	fmt.Println(uds.FormatHex(resp), err != nil)
	// Output: 7F 22 22 true
}
