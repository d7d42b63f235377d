package uds

import (
	"bytes"
	"context"
	"testing"
)

// A Transport that takes a request only whole (no SendParts) gets each 36 as one message: SID,
// counter and block, joined by the client.
func TestDownloadJoinsBlocksForWholeTransport(t *testing.T) {
	image := []byte("0123456789abcdefghij") // 20 bytes: blocks of 8, 8 and 4
	tr := newScripted(func(req []byte, reply func(uint16, []byte)) {
		switch SID(req[0]) {
		case SIDRequestDownload:
			reply(0x00E0, []byte{0x74, 0x10, 10}) // maxNumberOfBlockLength 10: 8 data bytes
		case SIDTransferData:
			reply(0x00E0, []byte{0x76, req[1]})
		case SIDRequestTransferExit:
			reply(0x00E0, []byte{0x77})
		}
	})
	c := NewClient(tr, 0x00E0)
	p, err := c.Download(context.Background(), 0x1000, image, DownloadOptions{})
	if err != nil || p.Blocks != 3 || p.Bytes != 20 {
		t.Fatalf("Download = %+v, %v; want 3 blocks, 20 bytes", p, err)
	}
	want := [][]byte{
		{0x36, 0x01, '0', '1', '2', '3', '4', '5', '6', '7'},
		{0x36, 0x02, '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'},
		{0x36, 0x03, 'g', 'h', 'i', 'j'},
	}
	sent := tr.requests()
	if len(sent) != 5 {
		t.Fatalf("sent %d requests, want 34, three 36 and 37: % X", len(sent), sent)
	}
	for i, w := range want {
		if !bytes.Equal(sent[1+i], w) {
			t.Errorf("36 #%d = % X, want % X", i+1, sent[1+i], w)
		}
	}
}
