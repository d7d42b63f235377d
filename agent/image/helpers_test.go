package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// intelHex writes data at addr as Intel HEX: an extended linear address record, data
// records of 16 bytes, and the end-of-file record.
func intelHex(addr uint32, data []byte) []byte {
	var b strings.Builder
	record := func(typ byte, off uint16, payload []byte) {
		sum := byte(len(payload)) + byte(off>>8) + byte(off) + typ
		fmt.Fprintf(&b, ":%02X%04X%02X", len(payload), off, typ)
		for _, c := range payload {
			fmt.Fprintf(&b, "%02X", c)
			sum += c
		}
		fmt.Fprintf(&b, "%02X\n", byte(-sum))
	}
	record(0x04, 0, []byte{byte(addr >> 24), byte(addr >> 16)})
	for i := 0; i < len(data); i += 16 {
		end := min(i+16, len(data))
		record(0x00, uint16(addr)+uint16(i), data[i:end])
	}
	record(0x01, 0, nil)
	return []byte(b.String())
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// testImage is 100 bytes of a counting pattern, flashed at 0x00010000.
func testImage() (data []byte, file []byte) {
	data = make([]byte, 100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return data, intelHex(0x00010000, data)
}

// fileServer serves body at /app.hex over HTTP on 127.0.0.1 and counts the requests.
func fileServer(t *testing.T, body []byte) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/app.hex" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}
