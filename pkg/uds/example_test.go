package uds_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// startECU serves a small ECU at 0x00E0 on 127.0.0.1: it reads the VIN (22 F1 90), answers a
// routine start with one response pending first, and refuses every other request.
func startECU() (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	handler := func(_ context.Context, w doip.ResponseWriter, r *doip.Request) {
		switch req := string(r.Data); {
		case req == "\x22\xF1\x90":
			w.Write(append([]byte{0x62, 0xF1, 0x90}, "WVWZZZ1JZXW000001"...))
		case req == "\x31\x01\xFF\x00":
			w.Write([]byte{0x7F, 0x31, 0x78}) // response pending: the client keeps waiting
			w.Write([]byte{0x71, 0x01, 0xFF, 0x00, 0x00})
		case len(req) > 0:
			w.Write([]byte{0x7F, req[0], 0x11})
		}
	}
	srv := &doip.Server{Handler: doip.HandlerFunc(handler), LogicalAddress: 0x00E0}
	go srv.Serve(ln, nil)
	return ln.Addr().String(), func() { srv.Shutdown(context.Background()) }
}

// A Client sends requests over a *doip.Conn (any Transport) and waits for the final answer,
// following response pending; DecodeValue renders the answer as a job step stores it.
func ExampleClient_Request() {
	addr, stop := startECU()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := (&doip.Client{}).Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := uds.NewClient(conn, 0x00E0)

	req := uds.ReadDataByIdentifier(uds.DIDVIN)
	resp, err := c.Request(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(uds.FormatHex(req), "->", uds.DecodeValue(req, resp))

	resp, err = c.Request(ctx, uds.RoutineControl(uds.RoutineStart, 0xFF00, nil))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("routine:", uds.FormatHex(resp))
	// Output:
	// 22 F1 90 -> WVWZZZ1JZXW000001
	// routine: 71 01 FF 00 00
}

// A negative response comes back as a *NegativeResponseError together with its bytes.
func ExampleNegativeResponseError() {
	addr, stop := startECU()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := (&doip.Client{}).Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	resp, err := uds.NewClient(conn, 0x00E0).Request(ctx, []byte{0x85, 0x01})
	var nre *uds.NegativeResponseError
	if errors.As(err, &nre) {
		fmt.Println(uds.FormatHex(resp), "is", uds.FormatNRC(byte(nre.NRC)))
	}
	// Output: 7F 85 11 is 0x11 serviceNotSupported
}
