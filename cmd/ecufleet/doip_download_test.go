package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// unlockArgs are the conveniences that open the default simulator for flashing: its level 1
// seed 11 22 33 44 XOR 5A 5A 5A 5A.
var unlockArgs = []string{"--session", "programming", "--security-level", "1", "--security-key", "4B 78 69 1E"}

// writeIHex writes size random bytes at address as an Intel HEX file and returns its path
// and the image.
func writeIHex(t *testing.T, address uint32, size int) (string, *flashimage.Image) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	im := &flashimage.Image{Segments: []flashimage.Segment{{Address: address, Data: data}}}
	text, err := im.MarshalIHex(32)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.hex")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, im
}

var finalLine = regexp.MustCompile(`(?m)^Downloaded 65536 of 65536 bytes in 17 blocks, [0-9.]+ s, [0-9.]+ MB/s$`)

func TestDoIPDownloadFlashesTheSimulator(t *testing.T) {
	addr, _ := startSimCmd(t)
	file, im := writeIHex(t, 0x00010000, 64<<10)

	pcap := filepath.Join(t.TempDir(), "download.pcapng")
	out, progress, err := runDoIPStreams(t, append([]string{"download", file, "--ecu", addr, "-o", "json", "--pcap", pcap}, unlockArgs...)...)
	if err != nil {
		t.Fatalf("download: %v\n%s", err, progress)
	}
	res := decodeJSON[downloadResult](t, out)
	crc := fmt.Sprintf("0x%08X", im.CRC32())
	// 4088 data bytes per block (the simulator's maxNumberOfBlockLength 0x0FFA minus SID and counter).
	if res.Target != 0x00E0 || res.Format != "ihex" || res.Segments != 1 || res.Bytes != 64<<10 || res.Blocks != 17 ||
		res.CRC32 != crc || res.Seconds <= 0 || res.MBPerSecond <= 0 {
		t.Errorf("download JSON %+v, want 65536 bytes in 17 blocks of one ihex segment, CRC %s", res, crc)
	}
	if !finalLine.MatchString(progress) {
		t.Errorf("progress lacks the final line:\n%s", progress)
	}

	// Still in the programming session (S3 is 5 s): the check routine and a read-back.
	check := decodeJSON[sendResult](t, mustDoIP(t, "send", "31 01 02 02 "+crc[2:], "--ecu", addr, "-o", "json"))
	if check.Response != "71 01 02 02 00" {
		t.Errorf("check routine answered %q, want 71 01 02 02 00 (CRC-32 matches)", check.Response)
	}
	read := decodeJSON[sendResult](t, mustDoIP(t, "send", "23 44 00 01 00 00 00 01 00 00", "--ecu", addr, "-o", "json"))
	back, err := uds.ParseHex(read.Response)
	if err != nil || len(back) != 1+64<<10 || back[0] != 0x63 || !bytes.Equal(back[1:], im.Segments[0].Data) {
		t.Errorf("read-back of 64 KiB at 0x10000: %d bytes (%v), first % X; want 63 and the image's bytes", len(back), err, back[:min(len(back), 8)])
	}

	// The table names bytes, blocks, seconds and MB/s.
	row := tableRow(t, mustDoIP(t, append([]string{"download", file, "--ecu", addr, "--max-block-length", "1026"}, unlockArgs...)...),
		"TARGET", "FORMAT", "SEGMENTS", "BYTES", "BLOCKS", "SECONDS", "MB/S", "CRC32")
	if strings.Join(row[:5], " ") != "0x00E0 ihex 1 65536 64" || row[7] != crc {
		t.Errorf("download table row %q, want 64 blocks of 1024 bytes with --max-block-length 1026", row)
	}

	// The --pcap of the first download: every request of the sequence and its answer (tshark
	// shows the request's SID on both), commented, dissected; the blocks trimmed.
	counts := map[string]int{}
	for _, l := range dissect(t, pcap, addr, "uds.sid") {
		counts[l]++
	}
	seg, trimmed := "download segment 1 of 1 at 0x00010000", ",TransferData trimmed for the trace: 64 of "
	for want, n := range map[string]int{
		"session programming\t0x10": 2, "security access level 0x01\t0x27": 4,
		seg + "\t0x34": 2, seg + "\t0x36": 17, seg + "\t0x37": 2,
		seg + trimmed + "4088 data bytes kept (DoIP message of 4102 bytes, now 78)\t0x36": 16,
		seg + trimmed + "128 data bytes kept (DoIP message of 142 bytes, now 78)\t0x36":   1,
	} {
		if counts[want] != n {
			t.Errorf("--pcap: %d packets %q, want %d; all: %v", counts[want], want, n, counts)
		}
	}
}

func TestDoIPDownloadErrorsNameTheNRCAndWhatToTry(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "sim.yaml")
	if err := os.WriteFile(cfg, []byte("flash:\n  blockDelay: 40ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _ := startSimCmd(t, "--config", cfg)
	file, _ := writeIHex(t, 0x00010000, 64<<10)
	bin := filepath.Join(t.TempDir(), "app.bin")
	if err := os.WriteFile(bin, []byte{1, 2, 3}, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"download", file, "--ecu", addr}, []string{"requestDownload", "0x7F serviceNotSupportedInActiveSession", "--session programming"}},
		{[]string{"download", file, "--ecu", addr, "--session", "programming"}, []string{"0x33", "--security-level"}},
		{[]string{"download", file, "--ecu", addr, "--session", "programming", "--security-level", "1", "--security-key", "00"}, []string{"0x35", "check --security-key"}},
		{[]string{"download", file, "--ecu", addr, "--security-key", "00"}, []string{"--security-key needs --security-level"}},
		{[]string{"download", file, "--ecu", addr, "--security-level", "2"}, []string{"--security-level", "odd"}},
		{[]string{"download", file, "--ecu", addr, "--format", "srec"}, []string{"check --format (auto detected ihex)"}},
		{[]string{"download", file, "--ecu", addr, "--address", "0x100"}, []string{"binary images only"}},
		{[]string{"download", file, "--ecu", addr, "--max-block-length", "2"}, []string{"--max-block-length 2"}},
		{append([]string{"download", bin, "--ecu", addr, "--address", "0x2000000"}, unlockArgs...), []string{"0x31 requestOutOfRange", "memory"}},
		{[]string{"download", filepath.Join(t.TempDir(), "none.hex"), "--ecu", addr}, []string{"no such file"}},
	}
	for _, tt := range tests {
		_, _, err := runDoIPStreams(t, tt.args...)
		for _, want := range tt.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("doip %s: got %v, want an error containing %q", strings.Join(tt.args, " "), err, want)
			}
		}
	}

	// A session change from another tester mid-download: the next block is refused, and the
	// error names the block and the NRC.
	done := make(chan error, 1)
	go func() {
		_, _, err := runDoIPStreams(t, append([]string{"download", file, "--ecu", addr}, unlockArgs...)...)
		done <- err
	}()
	time.Sleep(250 * time.Millisecond)
	mustDoIP(t, "send", "10 01", "--ecu", addr, "--tester", "0x0E01")
	err := <-done
	if err == nil || !regexp.MustCompile(`block \d+ \(counter 0x[0-9A-F]{2}, offset \d+\).*0x7F serviceNotSupportedInActiveSession`).MatchString(err.Error()) {
		t.Errorf("download interrupted by 10 01: %v, want the block and NRC 0x7F named", err)
	}
}

func TestTransferProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := newTransferProgress(&buf, 1000)
	p.every = 0 // a plain line for every update
	p.update(250, 1)
	p.update(500, 2)
	p.finish(500, 2, false)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Downloading: 250 of 1000 bytes (25%), 1 blocks, ") ||
		!strings.HasPrefix(lines[1], "Downloading: 500 of 1000 bytes (50%), 2 blocks, ") ||
		!regexp.MustCompile(`^Stopped after 500 of 1000 bytes in 2 blocks, [0-9.]+ s, [0-9.]+ MB/s$`).MatchString(lines[2]) {
		t.Errorf("plain progress:\n%s", buf.String())
	}

	buf.Reset()
	p = newTransferProgress(&buf, 1000)
	p.tty, p.last = true, time.Time{}
	p.update(500, 2)
	p.update(600, 3) // within barRedrawEvery: not drawn
	p.finish(1000, 4, true)
	want := "\r\033[K[" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "] 500 of 1000 bytes (50%), 2 blocks, "
	if !strings.HasPrefix(buf.String(), want) || strings.Contains(buf.String(), "600 of") ||
		!regexp.MustCompile(`\r\033\[KDownloaded 1000 of 1000 bytes in 4 blocks, [0-9.]+ s, [0-9.]+ MB/s\n$`).MatchString(buf.String()) {
		t.Errorf("terminal progress %q", buf.String())
	}
}
