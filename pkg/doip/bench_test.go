package doip

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// benchMessages is one message of every payload type, taken from the golden vectors.
func benchMessages() map[string]Message {
	out := map[string]Message{}
	for _, v := range goldenVectors {
		name := strings.TrimPrefix(fmt.Sprintf("%T", v.msg), "*doip.")
		if _, ok := out[name]; !ok {
			out[name] = v.msg
		}
	}
	return out
}

func BenchmarkEncode(b *testing.B) {
	for name, m := range benchMessages() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 64)
			for b.Loop() {
				buf = AppendFrame(buf[:0], Version2012, m)
			}
		})
	}
}

// BenchmarkDecode decodes a whole frame into a reused value of its type; a DiagnosticMessage
// must not allocate.
func BenchmarkDecode(b *testing.B) {
	for name, m := range benchMessages() {
		b.Run(name, func(b *testing.B) {
			frame := Marshal(Version2012, m)
			into, _ := NewMessage(m.Type())
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				var h Header
				if err := h.Unmarshal(frame); err != nil {
					b.Fatal(err)
				}
				if err := into.UnmarshalPayload(frame[HeaderLen:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// roundTripRequest is the UDS request of both round-trip benchmarks: ReadDataByIdentifier VIN.
var roundTripRequest = []byte{0x22, 0xF1, 0x90}

// BenchmarkRoundTrip is one diagnostic exchange over loopback: Send (request out, ACK back) and
// Receive (response back), against a Server whose handler echoes.
func BenchmarkRoundTrip(b *testing.B) {
	addr := startServer(b, echoServer())
	ctx := context.Background()
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := conn.Send(ctx, 0x00E0, roundTripRequest); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawTCPEcho is the floor for BenchmarkRoundTrip: the same bytes over loopback TCP
// with no protocol work. The client writes the request frame; the peer reads it and answers with
// as many bytes as the ACK and response frames together, in one write.
func BenchmarkRawTCPEcho(b *testing.B) {
	request := Marshal(Version2012, &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: roundTripRequest})
	answer := AppendFrame(Marshal(Version2012, &DiagnosticACK{Source: 0x00E0, Target: 0x0E00}), Version2012,
		&DiagnosticMessage{Source: 0x00E0, Target: 0x0E00, Data: []byte{0x62, 0xF1, 0x90}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		in := make([]byte, len(request))
		for {
			if _, err := io.ReadFull(nc, in); err != nil {
				return
			}
			if _, err := nc.Write(answer); err != nil {
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	out := make([]byte, len(answer))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(request); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, out); err != nil {
			b.Fatal(err)
		}
	}
}
