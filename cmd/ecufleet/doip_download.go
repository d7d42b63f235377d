package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// maxImageFile bounds the image file read into memory: an Intel HEX file is under three
// times its data, so this is well above flashimage.DefaultMaxSize of data.
const maxImageFile = 4 * flashimage.DefaultMaxSize

// downloadOptions are the flags of `doip download`.
type downloadOptions struct {
	format         string
	address        string
	maxBlockLength int
	session        string
	securityLevel  uint8
	securityKey    string
}

// downloadCommand flashes an image file with 34/36/37, one 34 per segment.
func (o *doipOptions) downloadCommand() *cobra.Command {
	d := &downloadOptions{}
	var cmd *cobra.Command
	cmd = o.command("download FILE", "Flash an Intel HEX, S-record or binary image into the ECU (34/36/37 per segment) with a progress bar",
		cobra.ExactArgs(1), func(ctx context.Context, args []string) (doipResult, error) {
			return o.download(ctx, args[0], d, cmd.ErrOrStderr())
		})
	cmd.Long = `Parse FILE (Intel HEX, Motorola S-record or raw binary) into its memory segments and flash
each with RequestDownload (34), TransferData (36) blocks of the ECU's maxNumberOfBlockLength
(also within --max-block-length and the entity's maximum data size) and RequestTransferExit
(37). --session programming sends 10 02 first; --security-level L --security-key HEX then
unlocks with 27 L and 27 L+1 KEY. Progress goes to stderr: a bar on a terminal, a line every
2 s otherwise, and a final line with bytes, blocks, seconds and MB/s. The result (with the
image's CRC-32 for a check routine) is printed as a table or JSON.`
	cmd.Example = `  ecufleet doip download app.hex --ecu 192.168.0.10 --session programming --security-level 1 --security-key 4B78691E
  ecufleet doip download app.bin --format bin --address 0x00010000 --ecu 127.0.0.1:13400 --max-block-length 1026`
	f := cmd.Flags()
	f.StringVar(&d.format, "format", string(flashimage.FormatAuto), "image format: auto (by content), ihex, srec or bin")
	f.StringVar(&d.address, "address", "", "where the first byte of a binary image goes, e.g. 0x00010000 (bin only: the text formats carry their addresses)")
	f.IntVar(&d.maxBlockLength, "max-block-length", 0, "cap on the ECU's maxNumberOfBlockLength: bytes of a whole 36 request, SID and counter included (0: the ECU's)")
	f.StringVar(&d.session, "session", "", "enter this session first with 10 (programming, extended or a number); empty: stay")
	f.Uint8Var(&d.securityLevel, "security-level", 0, "unlock this odd security level first with 27 L and 27 L+1 --security-key; 0: no unlock")
	f.StringVar(&d.securityKey, "security-key", "", "the key (hex) sent with 27 L+1 for --security-level")
	return cmd
}

// downloadResult is what a finished download printed.
type downloadResult struct {
	Target      uint16  `json:"target"`
	File        string  `json:"file"`
	Format      string  `json:"format"`
	Segments    int     `json:"segments"`
	Bytes       int64   `json:"bytes"`
	Blocks      int     `json:"blocks"`
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"megabytesPerSecond"`
	CRC32       string  `json:"crc32"`
}

func (r downloadResult) table() ([]string, [][]string) {
	return []string{"TARGET", "FORMAT", "SEGMENTS", "BYTES", "BLOCKS", "SECONDS", "MB/S", "CRC32"},
		[][]string{{fmt.Sprintf("0x%04X", r.Target), r.Format, strconv.Itoa(r.Segments), strconv.FormatInt(r.Bytes, 10),
			strconv.Itoa(r.Blocks), strconv.FormatFloat(r.Seconds, 'f', 3, 64), strconv.FormatFloat(r.MBPerSecond, 'f', 2, 64), r.CRC32}}
}

// unlock is what the flags ask to do before the download.
type unlock struct {
	session uds.Session // 0: stay in the current session
	level   byte        // 0: no security access
	key     []byte
}

// check validates the flags that need no file and no ECU.
func (d *downloadOptions) check() (unlock, error) {
	var u unlock
	if d.session != "" {
		s, err := uds.ParseSession(d.session)
		if err != nil {
			return u, fmt.Errorf("--session: %w", err)
		}
		u.session = s
	}
	if d.maxBlockLength < 0 || d.maxBlockLength > 0 && d.maxBlockLength < 3 {
		return u, fmt.Errorf("--max-block-length %d: want 0 (the ECU's) or at least 3 (SID, counter and one data byte)", d.maxBlockLength)
	}
	if d.securityKey != "" && d.securityLevel == 0 {
		return u, errors.New("--security-key needs --security-level: the odd level whose seed it answers")
	}
	if d.securityLevel != 0 {
		if _, err := uds.SecurityAccessSeed(d.securityLevel); err != nil {
			return u, fmt.Errorf("--security-level: %w", err)
		}
		key, err := uds.ParseHex(d.securityKey)
		if err != nil {
			return u, fmt.Errorf("--security-key: %w", err)
		}
		u.level, u.key = d.securityLevel, key
	}
	return u, nil
}

// image reads and parses the file, so a bad image fails before anything is sent.
func (d *downloadOptions) image(file string) (*flashimage.Image, flashimage.Format, error) {
	var base uint64
	if d.address != "" {
		v, err := strconv.ParseUint(d.address, 0, 32)
		if err != nil {
			return nil, "", fmt.Errorf("--address %q: want a 32-bit address such as 0x00010000", d.address)
		}
		base = v
	}
	st, err := os.Stat(file)
	if err != nil {
		return nil, "", fmt.Errorf("download: %w", err)
	}
	if st.Size() > maxImageFile {
		return nil, "", fmt.Errorf("download: %s is %d bytes, more than the %d an image file may have", file, st.Size(), int64(maxImageFile))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("download: %w", err)
	}
	format := flashimage.Format(d.format)
	if format == flashimage.FormatAuto {
		format = flashimage.Detect(data)
	}
	im, err := flashimage.Parse(data, flashimage.Options{Format: format, Address: uint32(base)})
	if err != nil {
		return nil, "", fmt.Errorf("download: %s: %w; check --format (auto detected %s)", file, err, flashimage.Detect(data))
	}
	if len(im.Segments) == 0 {
		return nil, "", fmt.Errorf("download: %s holds no data bytes: nothing to flash", file)
	}
	return im, format, nil
}

func (o *doipOptions) download(ctx context.Context, file string, d *downloadOptions, progress io.Writer) (doipResult, error) {
	u, err := d.check()
	if err != nil {
		return nil, err
	}
	im, format, err := d.image(file)
	if err != nil {
		return nil, err
	}
	maxRequest := o.maxRequestLength(ctx, progress)
	conn, addr, target, err := o.dialECU(ctx, "download")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	where := fmt.Sprintf("%s (ECU 0x%04X)", addr, target)
	c := uds.NewClient(conn, target)
	if err := o.prepare(ctx, c, u, where); err != nil {
		return nil, err
	}

	p := newTransferProgress(progress, im.Size())
	var done int64
	var blocks int
	for i, seg := range im.Segments {
		o.note(fmt.Sprintf("download segment %d of %d at 0x%08X", i+1, len(im.Segments), seg.Address))
		got, err := c.Download(ctx, uint64(seg.Address), seg.Data, uds.DownloadOptions{
			MaxBlockLength: d.maxBlockLength, MaxRequestLength: maxRequest,
			Progress: func(sp uds.DownloadProgress) { p.update(done+sp.Bytes, blocks+sp.Blocks) },
		})
		done, blocks = done+got.Bytes, blocks+got.Blocks
		if err != nil {
			p.finish(done, blocks, false)
			what := fmt.Sprintf("download segment %d of %d (0x%08X, %d bytes) to", i+1, len(im.Segments), seg.Address, len(seg.Data))
			return nil, o.explainUDS(what, where, err)
		}
	}
	elapsed := p.finish(done, blocks, true)
	return downloadResult{Target: target, File: file, Format: string(format), Segments: len(im.Segments), Bytes: done, Blocks: blocks,
		Seconds: elapsed.Seconds(), MBPerSecond: megabytesPerSecond(done, elapsed), CRC32: fmt.Sprintf("0x%08X", im.CRC32())}, nil
}

// maxRequestLength asks the entity for its maximum data size over UDP, so no 36 exceeds it;
// an entity that does not answer leaves the limit to the ECU's maxNumberOfBlockLength.
func (o *doipOptions) maxRequestLength(ctx context.Context, progress io.Writer) int {
	c, addr, err := o.udpTarget()
	if err != nil {
		return 0
	}
	o.note("entity status")
	st, err := c.EntityStatus(ctx, addr)
	switch {
	case err != nil:
		fmt.Fprintf(progress, "No entity status from %s (%v): blocks follow the ECU's maxNumberOfBlockLength and --max-block-length only\n", addr, err)
		return 0
	case !st.HasMaxDataSize:
		return 0
	}
	// The diagnostic message's source and target addresses count against the data size; a
	// size that leaves no room makes Download say so.
	return int(max(int64(st.MaxDataSize)-4, 1))
}

// prepare enters the session and unlocks security access as the flags ask.
func (o *doipOptions) prepare(ctx context.Context, c *uds.Client, u unlock, where string) error {
	if u.session != 0 {
		req := uds.SessionControl(u.session)
		o.note("session " + u.session.String())
		resp, err := c.Request(ctx, req)
		if err == nil {
			_, err = uds.ParseSessionControl(resp, u.session)
		}
		if err != nil {
			return o.explainUDS("session control "+uds.FormatHex(req)+" to", where, err)
		}
	}
	if u.level == 0 {
		return nil
	}
	req, _ := uds.SecurityAccessSeed(u.level) // the level was checked with the flags
	o.note(fmt.Sprintf("security access level 0x%02X", u.level))
	resp, err := c.Request(ctx, req)
	var seed []byte
	if err == nil {
		seed, err = uds.ParseSecurityAccessSeed(resp, u.level)
	}
	if err != nil {
		return o.explainUDS("security access seed "+uds.FormatHex(req)+" to", where, err)
	}
	if len(seed) > 0 && len(bytes.TrimLeft(seed, "\x00")) == 0 {
		return nil // an all-zero seed: already unlocked
	}
	if len(u.key) == 0 {
		return fmt.Errorf("security access of %s: the ECU sent seed %s: give the key with --security-key", where, uds.FormatHex(seed))
	}
	req, _ = uds.SecurityAccessKey(u.level+1, u.key)
	resp, err = c.Request(ctx, req)
	if err == nil {
		err = uds.ParseSecurityAccessKey(resp, u.level+1)
	}
	if err != nil {
		return o.explainUDS(fmt.Sprintf("security access key 27 %02X to", u.level+1), where, err)
	}
	return nil
}

// explainUDS is explain with a hint for the NRCs a flash sequence meets.
func (o *doipOptions) explainUDS(what, where string, err error) error {
	var nre *uds.NegativeResponseError
	if !errors.As(err, &nre) {
		return o.explain(what, where, err)
	}
	return fmt.Errorf("%s %s: %w%s", what, where, err, flashHints[nre.NRC])
}

// flashHints say what to try after an NRC of a flash sequence.
var flashHints = map[uds.NRC]string{
	uds.NRCServiceNotSupportedInActiveSession:     "; enter the programming session first: --session programming",
	uds.NRCSubFunctionNotSupportedInActiveSession: "; enter the programming session first: --session programming",
	uds.NRCSecurityAccessDenied:                   "; unlock the ECU first: --security-level L --security-key HEX",
	uds.NRCInvalidKey:                             "; check --security-key",
	uds.NRCExceededNumberOfAttempts:               "; wait for the ECU's security lockout to end, then retry with the right --security-key",
	uds.NRCRequiredTimeDelayNotExpired:            "; wait for the ECU's security lockout to end, then retry with the right --security-key",
	uds.NRCRequestOutOfRange:                      "; check the image's addresses and size against the ECU's memory (--address for a binary image)",
	uds.NRCConditionsNotCorrect:                   "; a transfer may still be open from an earlier attempt: reset the ECU (doip send 11 01) and retry",
	uds.NRCRequestSequenceError:                   "; the ECU lost track of the transfer: reset it (doip send 11 01) and retry",
}

// megabytesPerSecond is n bytes over d in MB/s (10^6 bytes), as throughput is usually quoted.
func megabytesPerSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds() / 1e6
}
