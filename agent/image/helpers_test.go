package image

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

// intelHex writes data at addr as Intel HEX with 16-byte records.
func intelHex(addr uint32, data []byte) []byte {
	im := &flashimage.Image{Segments: []flashimage.Segment{{Address: addr, Data: data}}}
	file, err := im.MarshalIHex(16)
	if err != nil {
		panic(err)
	}
	return file
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
