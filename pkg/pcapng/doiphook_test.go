package pcapng

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
)

func TestDoIPHookRecordsASession(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &doip.Server{LogicalAddress: 0x00E0, Handler: doip.HandlerFunc(func(ctx context.Context, w doip.ResponseWriter, r *doip.Request) {
		w.Write([]byte{r.Data[0] + 0x40, 0x00})
	})}
	go srv.Serve(ln, nil)
	defer srv.Shutdown(context.Background())

	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hook := NewDoIPHook(w)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hook.SetComment("routing activation")
	conn, err := (&doip.Client{Hook: hook}).Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	hook.SetComment("send 3E 00")
	if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := hook.Err(); err != nil {
		t.Fatal(err)
	}
	if w.Frames() != 5 {
		t.Errorf("Frames = %d, want 5 (activation request and response, message, ACK, response)", w.Frames())
	}
	file := filepath.Join(t.TempDir(), "s.pcapng")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	out := tshark(t, file, "-d", fmt.Sprintf("tcp.port==%d,doip", port), "-Y", "doip", "-T", "fields", "-e", "frame.number")
	if n := len(strings.Fields(out)); n != 5 {
		t.Errorf("tshark shows %d DoIP packets, want 5:\n%s", n, out)
	}
}
