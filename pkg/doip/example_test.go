package doip_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
)

// vinECU is the Handler of the examples: it answers ReadDataByIdentifier of the VIN
// (22 F1 90) and refuses every other request with serviceNotSupported.
func vinECU(_ context.Context, w doip.ResponseWriter, r *doip.Request) {
	switch {
	case len(r.Data) == 0:
		return // no service identifier: nothing to answer
	case string(r.Data) == "\x22\xF1\x90":
		w.Write(append([]byte{0x62, 0xF1, 0x90}, "WVWZZZ1JZXW000001"...))
	default:
		w.Write([]byte{0x7F, r.Data[0], 0x11})
	}
}

// startEntity serves an entity at logical address 0x00E0 on 127.0.0.1 (TCP and UDP on free
// ports) and returns its TCP and UDP addresses and a stop function.
func startEntity() (tcpAddr, udpAddr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var vin [17]byte
	copy(vin[:], "WVWZZZ1JZXW000001")
	srv := &doip.Server{Handler: doip.HandlerFunc(vinECU), LogicalAddress: 0x00E0, NodeType: doip.NodeNode, VIN: vin,
		EID: [6]byte{0x02, 0, 0, 0, 0, 0xE0}}
	go srv.Serve(ln, pc)
	return ln.Addr().String(), pc.LocalAddr().String(), func() { srv.Shutdown(context.Background()) }
}

// A Server runs the DoIP protocol (routing activation, ACKs, alive checks, UDP identification)
// around a Handler that only speaks UDS bytes.
func ExampleServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &doip.Server{Handler: doip.HandlerFunc(vinECU), LogicalAddress: 0x00E0}
	go srv.Serve(ln, nil)
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := (&doip.Client{}).Dial(ctx, ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, 0x00E0, []byte{0x10, 0x03}); err != nil {
		log.Fatal(err)
	}
	m, err := conn.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("0x%04X answered % X\n", m.Source, m.Data)
	// Output: 0x00E0 answered 7F 10 11
}

// Dial connects and activates routing; Send then waits for the entity's diagnostic ACK and
// Receive for the ECU's response.
func ExampleClient_Dial() {
	tcpAddr, _, stop := startEntity()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &doip.Client{TesterAddress: 0x0E00}
	conn, err := client.Dial(ctx, tcpAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Printf("routing activated by entity 0x%04X\n", conn.EntityAddress())

	if err := conn.Send(ctx, conn.EntityAddress(), []byte{0x22, 0xF1, 0x90}); err != nil {
		log.Fatal(err)
	}
	m, err := conn.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("0x%04X -> 0x%04X: %s\n", m.Source, m.Target, m.Data[3:])

	if _, err := conn.AliveCheck(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("alive")
	// Output:
	// routing activated by entity 0x00E0
	// 0x00E0 -> 0x0E00: WVWZZZ1JZXW000001
	// alive
}

// Identify, EntityStatus and PowerMode ask one entity over UDP; the values print in the one
// spelling the ECU status and the CLI use.
func ExampleClient_Identify() {
	_, udpAddr, stop := startEntity()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &doip.Client{}
	a, err := client.Identify(ctx, udpAddr, doip.IdentifyQuery{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("0x%04X VIN %s EID %s\n", a.LogicalAddress, doip.VINText(a.VIN), doip.HardwareAddressText(a.EID))
	st, err := client.EntityStatus(ctx, udpAddr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node type", st.NodeType)
	pm, err := client.PowerMode(ctx, udpAddr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("power mode", pm.Mode)
	// Output:
	// 0x00E0 VIN WVWZZZ1JZXW000001 EID 02:00:00:00:00:E0
	// node type Node
	// power mode Ready
}

// A Reader cuts a TCP byte stream into frames whatever its segmentation.
func ExampleReader() {
	server, client := net.Pipe()
	go func() {
		frame := doip.AppendFrame(nil, doip.Version2012, &doip.AliveCheckResponse{SourceAddress: 0x0E00})
		for _, b := range frame { // one byte per write: the worst segmentation
			server.Write([]byte{b})
		}
		server.Close()
	}()
	r := doip.NewReader(client, 0)
	h, p, err := r.Next()
	if err != nil {
		log.Fatal(err)
	}
	var m doip.AliveCheckResponse
	if err := m.UnmarshalPayload(p); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v from 0x%04X\n", h.Type, m.SourceAddress)
	_, _, err = r.Next()
	fmt.Println(err)
	// Output:
	// alive check response (0x0008) from 0x0E00
	// EOF
}
