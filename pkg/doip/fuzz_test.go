package doip

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// FuzzUnmarshal: the decoder never panics, every fault is an *Error, and every frame it accepts
// encodes back to exactly the same bytes.
func FuzzUnmarshal(f *testing.F) {
	for _, v := range goldenVectors {
		f.Add(hx(f, v.hex))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, m, err := Unmarshal(data)
		if err != nil {
			asError(t, err)
			return
		}
		if got := Marshal(h.Version, m); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n got % x\nwant % x", got, data)
		}
	})
}

// FuzzReader: the framer never panics, never buffers more than its limit, gives the same frames
// whatever the segmentation, and only returns *Error, io.EOF or io.ErrUnexpectedEOF.
func FuzzReader(f *testing.F) {
	for _, v := range goldenVectors {
		f.Add(hx(f, v.hex))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 64
		whole := readFrames(t, NewReader(bytes.NewReader(data), limit), limit)
		split := readFrames(t, NewReader(iotest.OneByteReader(bytes.NewReader(data)), limit), limit)
		if whole != split {
			t.Fatalf("segmentation changed the frames:\nwhole %s\nsplit %s", whole, split)
		}
	})
}

// readFrames drains a Reader and describes what it returned, checking its invariants.
func readFrames(t *testing.T, rd *Reader, limit int) string {
	var out bytes.Buffer
	for i := 0; ; i++ {
		h, p, err := rd.Next()
		if len(rd.buf) > max(initialReadBuffer, HeaderLen+limit) && len(rd.buf) > HeaderLen+limit {
			t.Fatalf("buffer grew to %d bytes with a limit of %d", len(rd.buf), limit)
		}
		if err != nil {
			var de *Error
			switch {
			case errors.As(err, &de):
				out.WriteString(de.NACK.String())
				if !de.Close {
					continue
				}
				if _, _, again := rd.Next(); again != err {
					t.Fatalf("fatal fault not sticky: %v then %v", err, again)
				}
			case err == io.EOF, err == io.ErrUnexpectedEOF:
				out.WriteString(err.Error())
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return out.String()
		}
		if len(p) > limit || uint32(len(p)) != h.Length {
			t.Fatalf("payload of %d bytes, header says %d, limit %d", len(p), h.Length, limit)
		}
		out.WriteString(h.Type.String())
		out.Write(p)
	}
}

var fuzzServer struct {
	once sync.Once
	addr string
}

// FuzzServerConn feeds arbitrary bytes to a real Server over a loopback socket: the server must
// not panic, must answer only with valid frames of the types an entity sends, and must close the
// socket after a generic NACK 0x00 or 0x04 without sending anything after it.
func FuzzServerConn(f *testing.F) {
	for _, v := range goldenVectors {
		f.Add(hx(f, v.hex))
	}
	f.Add(append(Marshal(Version2012, &RoutingActivationRequest{SourceAddress: 0x0E00}),
		Marshal(Version2012, &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x22, 0xF1, 0x90}})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzServer.once.Do(func() {
			s := echoServer()
			s.MaxDataSize, s.MaxSockets = 64, 64
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve(ln, nil) // lives for the whole fuzzing process
			fuzzServer.addr = ln.Addr().String()
		})
		nc, err := net.Dial("tcp", fuzzServer.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write(data); err != nil {
			return // the entity already closed the socket on an earlier fault
		}
		nc.(*net.TCPConn).CloseWrite()
		rd := NewReader(nc, 1<<16)
		for {
			h, p, err := rd.Next()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("entity neither answered nor closed the socket")
				}
				return // closed (EOF or reset)
			}
			m, err := NewMessage(h.Type)
			if err != nil {
				t.Fatalf("entity sent an unknown type: %v", err)
			}
			if err := m.UnmarshalPayload(p); err != nil {
				t.Fatalf("entity sent an invalid %v: %v", h.Type, err)
			}
			switch m := m.(type) {
			case *GenericNACK:
				if m.Code == NACKIncorrectPattern || m.Code == NACKInvalidLength {
					if _, _, err := rd.Next(); err == nil {
						t.Fatalf("entity sent a frame after generic NACK %v", m.Code)
					}
					return
				}
			case *RoutingActivationResponse, *AliveCheckResponse, *AliveCheckRequest,
				*DiagnosticACK, *DiagnosticNACK, *DiagnosticMessage:
			default:
				t.Fatalf("entity sent %v on TCP", h.Type)
			}
		}
	})
}
