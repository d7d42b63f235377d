package uds

import (
	"context"
	"errors"
	"fmt"
)

// DownloadOptions tunes Client.Download; the zero value sends plain data with the smallest
// address and size fields and blocks as long as the ECU allows.
type DownloadOptions struct {
	// DataFormat is the 34's dataFormatIdentifier (0x00: no compression, no encryption).
	DataFormat byte
	// AddressAndLengthFormat is the 34's addressAndLengthFormatIdentifier (0: smallest).
	AddressAndLengthFormat byte
	// MaxBlockLength caps the ECU's maxNumberOfBlockLength: the length of a whole 36
	// request, SID and counter included (0: no cap).
	MaxBlockLength int
	// MaxRequestLength is the largest UDS request the link carries (0: no limit); on DoIP it
	// is the entity's maximum data size minus the 4-byte source and target addresses.
	MaxRequestLength int
	// Progress, if set, is called after each accepted block, from the calling goroutine.
	Progress func(DownloadProgress)
}

// DownloadProgress is how far a download got, for progress bars and job status.
type DownloadProgress struct {
	// Bytes is the number of data bytes the ECU accepted.
	Bytes int64
	// TotalBytes is the segment's size.
	TotalBytes int64
	// Blocks is the number of 36 requests the ECU accepted.
	Blocks int
}

// DownloadError says where a download stopped: the service, and for a 36 the block's
// counter, index (from 0) and byte offset. It wraps the cause, so errors.As still finds a
// *NegativeResponseError with the NRC or a *TimeoutError.
type DownloadError struct {
	// SID is the service that failed: 0x34, 0x36 or 0x37.
	SID SID
	// Counter is the block sequence counter of the failed 36.
	Counter byte
	// Block is the index of the failed block from 0.
	Block int
	// Offset is the byte offset of the failed block within the segment.
	Offset int64
	// Address is the segment's start address.
	Address uint64
	// Err is the cause.
	Err error
}

// Error names the failed request and where in the segment it was.
func (e *DownloadError) Error() string {
	if e.SID == SIDTransferData {
		return fmt.Sprintf("download to 0x%X: block %d (counter 0x%02X, offset %d): %v", e.Address, e.Block, e.Counter, e.Offset, e.Err)
	}
	return fmt.Sprintf("download to 0x%X: %s: %v", e.Address, e.SID, e.Err)
}

// Unwrap returns the cause.
func (e *DownloadError) Unwrap() error { return e.Err }

// blockLength is the number of data bytes per 36 request that every limit allows.
func (o *DownloadOptions) blockLength(ecu uint64) (int, error) {
	n := ecu
	for _, limit := range []int{o.MaxBlockLength, o.MaxRequestLength} {
		if limit > 0 && uint64(limit) < n {
			n = uint64(limit)
		}
	}
	if n < 3 {
		return 0, fmt.Errorf("maxNumberOfBlockLength %d (ECU: %d, MaxBlockLength: %d, MaxRequestLength: %d) leaves no room for data after the 0x36 SID and counter: raise the limits to at least 3",
			n, ecu, o.MaxBlockLength, o.MaxRequestLength)
	}
	return int(min(n-2, uint64(maxInt))), nil
}

const maxInt = int(^uint(0) >> 1)

// Download writes data to address as one segment: 34, then 36 blocks of the ECU's
// maxNumberOfBlockLength minus 2 bytes (also within opt's limits) with the counter starting at
// 0x01 and wrapping 0xFF to 0x00, then 37. Response pending answers wait P2* as Request does.
// A 36 that gets no answer in time is sent once more with the same counter (the ECU accepts
// the repeated last block without writing it twice, and a second, late answer to it is
// skipped); any other failure stops the download with a *DownloadError. It returns how far
// the download got.
func (c *Client) Download(ctx context.Context, address uint64, data []byte, opt DownloadOptions) (DownloadProgress, error) {
	p := DownloadProgress{TotalBytes: int64(len(data))}
	fail := func(sid SID, err error) (DownloadProgress, error) {
		return p, &DownloadError{SID: sid, Address: address, Counter: byte(p.Blocks + 1), Block: p.Blocks, Offset: p.Bytes, Err: err}
	}
	rd := RequestDownload{DataFormat: opt.DataFormat,
		Memory: MemoryLocation{Address: address, Size: uint64(len(data)), Format: opt.AddressAndLengthFormat}}
	req, err := rd.MarshalBinary()
	if err != nil {
		return fail(SIDRequestDownload, err)
	}
	resp, err := c.Request(ctx, req)
	if err != nil {
		return fail(SIDRequestDownload, err)
	}
	var rdr RequestDownloadResponse
	if err := rdr.UnmarshalBinary(resp); err != nil {
		return fail(SIDRequestDownload, err)
	}
	size, err := opt.blockLength(rdr.MaxBlockLength)
	if err != nil {
		return fail(SIDRequestDownload, err)
	}

	resent := false
	for off := 0; off < len(data); {
		n := min(size, len(data)-off)
		counter := byte(p.Blocks + 1) // 0x01..0xFF, then 0x00
		if resent, err = c.transferBlock(ctx, counter, data[off:off+n], resent); err != nil {
			return fail(SIDTransferData, err)
		}
		off += n
		p.Bytes += int64(n)
		p.Blocks++
		if opt.Progress != nil {
			opt.Progress(p)
		}
	}

	resp, err = c.Request(ctx, []byte{byte(SIDRequestTransferExit)})
	if err == nil {
		var exit RequestTransferExitResponse
		err = exit.UnmarshalBinary(resp)
	}
	if err != nil {
		return p, &DownloadError{SID: SIDRequestTransferExit, Address: address, Block: p.Blocks, Offset: p.Bytes, Err: err}
	}
	return p, nil
}

// transferBlock sends one 36 and checks its answer, resending once after a timeout. After
// a resend the ECU may answer twice (the first answer was late, not lost); lateDuplicate
// says the block before was resent, so a second answer to it is skipped here.
func (c *Client) transferBlock(ctx context.Context, counter byte, block []byte, lateDuplicate bool) (resent bool, err error) {
	req := []byte{byte(SIDTransferData), counter} // the block follows it in the same message
	resp, err := c.request(ctx, req, block)
	var te *TimeoutError
	if errors.As(err, &te) && ctx.Err() == nil {
		resent = true
		resp, err = c.request(ctx, req, block)
		if err != nil {
			return resent, fmt.Errorf("no answer, and none to the resent block either: %w", err)
		}
	}
	if err != nil {
		return resent, err
	}
	if lateDuplicate && len(resp) >= 2 && resp[0] == byte(SIDTransferData)+PositiveResponseOffset && resp[1] == counter-1 {
		if resp, err = c.awaitAnswer(ctx, req); err != nil {
			return resent, err
		}
	}
	_, err = ParseTransferData(resp, counter)
	return resent, err
}

// awaitAnswer waits for a further answer to req, already sent, under the client's turn, so
// no other request interleaves.
func (c *Client) awaitAnswer(ctx context.Context, req []byte) ([]byte, error) {
	c.init()
	select {
	case <-c.turn:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the answer to UDS request %s: %w", SID(req[0]), ctx.Err())
	}
	defer func() { c.turn <- struct{}{} }()
	resp, err := c.await(ctx, req)
	if err != nil {
		return nil, err
	}
	if nre, ok := negative(resp); ok {
		return resp, nre
	}
	return resp, nil
}
