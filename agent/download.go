package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecufleet/ecufleet/agent/image"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
	"github.com/ecufleet/ecufleet/pkg/flashimage"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// transferWriteInterval is the least time between two progress writes of a running download:
// a person watching sees it move, the API server sees no write per block.
const transferWriteInterval = 2 * time.Second

// transferWriteTimeout bounds one progress write. The write runs between two blocks, so an API
// server that does not answer would otherwise hold the flash, and the ECU, until it does: with
// the bound, the flash goes on at no less than half its speed and the next write carries the
// progress.
const transferWriteTimeout = time.Second

// defaultDownloadTimeout bounds a download step that sets no timeout: long enough for a 64 MiB
// image on a slow ECU; the job's activeDeadlineSeconds still applies.
const defaultDownloadTimeout = 10 * time.Minute

// imageError ends an attempt whose download step could not use its image: the reason is
// ImageInvalid (the bytes are wrong: final) or ImageUnavailable (retryable).
type imageError struct {
	reason string
	err    error
}

// Error says what was wrong with the image.
func (e *imageError) Error() string { return e.err.Error() }

// Unwrap exposes the image package's error.
func (e *imageError) Unwrap() error { return e.err }

// imageFailure classifies a Fetch error; a cancelled context is returned as it is.
func imageFailure(err error) error {
	switch {
	case errors.Is(err, image.ErrImageInvalid):
		return &imageError{reason: v1alpha1.ReasonImageInvalid, err: err}
	case errors.Is(err, image.ErrImageUnavailable):
		return &imageError{reason: v1alpha1.ReasonImageUnavailable, err: err}
	}
	return err
}

// perform runs step i: a download here, with the attempt's image fetcher and progress writes;
// every other action in the session's perform.
func (at *attempt) perform(ctx context.Context, sess *session, i int) stepAnswer {
	step := &at.plan[i]
	if step.Download == nil {
		return perform(ctx, sess, step)
	}
	return at.download(ctx, sess, i, step.Download)
}

// download fetches, verifies and parses the image, and only then writes each segment with one
// 34/36/37; the step's transfer status follows the blocks, written at most every 2 s.
func (at *attempt) download(ctx context.Context, sess *session, i int, a *v1alpha1.DownloadAction) stepAnswer {
	res, err := at.r.fetcher.Fetch(ctx, imageSource(a, at.key.Namespace))
	if err != nil {
		return stepAnswer{kind: answerUDS, err: imageFailure(err)}
	}
	segs := res.Image.Segments
	if len(segs) == 0 {
		return stepAnswer{kind: answerUDS, err: &imageError{reason: v1alpha1.ReasonImageInvalid,
			err: fmt.Errorf("%w: %s (%s) holds no data to flash", image.ErrImageInvalid, res.Name, res.Digest)}}
	}
	// tr is the download's own count; the step gets a copy of it with each update, so that no
	// job object written earlier shares it.
	tr := v1alpha1.TransferStatus{}
	for _, s := range segs {
		tr.TotalBytes += int64(len(s.Data))
	}
	at.steps[i].Transfer = &v1alpha1.TransferStatus{TotalBytes: tr.TotalBytes}
	at.log.Info("Flashing image", "step", at.plan[i].Name, "image", res.Name, "digest", res.Digest, "format", res.Format,
		"cached", res.Cached, "segments", len(segs), "bytes", tr.TotalBytes)

	opt := uds.DownloadOptions{DataFormat: byte(a.DataFormatIdentifier), MaxRequestLength: sess.maxRequestLength(ctx)}
	if a.AddressAndLengthFormatIdentifier != nil {
		opt.AddressAndLengthFormat = byte(*a.AddressAndLengthFormatIdentifier)
	}
	if a.MaxBlockLength != nil {
		opt.MaxBlockLength = int(min(*a.MaxBlockLength, int64(maxInt)))
	}
	start, lastWrite := time.Now(), time.Now()
	var doneBytes, doneBlocks int64
	update := func(p uds.DownloadProgress) {
		tr.Bytes, tr.Blocks = doneBytes+p.Bytes, doneBlocks+int64(p.Blocks)
		if s := time.Since(start).Seconds(); s > 0 {
			tr.BytesPerSecond = int64(float64(tr.Bytes) / s)
		}
		t := tr
		at.steps[i].Transfer = &t
	}
	opt.Progress = func(p uds.DownloadProgress) {
		update(p)
		if time.Since(lastWrite) < transferWriteInterval {
			return
		}
		lastWrite = time.Now()
		at.writeTransfer(ctx, i)
	}

	o := stepAnswer{kind: answerUDS, note: fmt.Sprintf("image %s (%s, %s)", res.Name, res.Digest, res.Format)}
	if res.Cached {
		o.note += " from the cache"
	}
	for n, seg := range segs {
		p, err := sess.uds.Download(ctx, uint64(seg.Address), seg.Data, opt)
		update(p)
		doneBytes, doneBlocks = tr.Bytes, tr.Blocks
		if n == 0 || err != nil {
			o.requestText = requestSummary(a, opt, seg, len(segs), tr.Blocks)
		}
		if err != nil && connectionDropped(err) && ctx.Err() == nil {
			// The message keeps the download's own: the block and byte offset it got to.
			o.err = &connectionLostError{addr: sess.ep.tcpAddr, target: sess.target, err: err, download: true}
			return o
		}
		if err != nil {
			return downloadFailed(o, err)
		}
	}
	o.requestText = requestSummary(a, opt, segs[0], len(segs), tr.Blocks)
	o.response = []byte{byte(uds.SIDRequestTransferExit) + uds.PositiveResponseOffset}
	o.value = fmt.Sprintf("%d bytes in %d blocks", tr.Bytes, tr.Blocks)
	if len(segs) > 1 {
		o.value += fmt.Sprintf(", %d segments", len(segs))
	}
	return o
}

// writeTransfer writes the running step's transfer status within transferWriteTimeout,
// logging a failure: the next write carries it anyway.
func (at *attempt) writeTransfer(ctx context.Context, i int) {
	wctx, cancel := context.WithTimeout(ctx, transferWriteTimeout)
	defer cancel()
	err := at.write(wctx, at.progressMessage(at.plan[i].Name))
	if err != nil && !errors.Is(err, patch.ErrNotOurs) && ctx.Err() == nil {
		at.log.Error(err, "Cannot write the download progress; the next write will carry it", "step", at.plan[i].Name)
	}
}

// downloadFailed records a failed download: a negative answer as the step's NRC and response,
// with the message naming the service and the block; anything else as the step's error.
func downloadFailed(o stepAnswer, err error) stepAnswer {
	var nre *uds.NegativeResponseError
	if errors.As(err, &nre) {
		nrc := byte(nre.NRC)
		o.negative, o.nrc, o.response = true, &nrc, nre.Response
		o.note = joinNotes(err.Error(), o.note)
		return o
	}
	o.err = err
	return o
}

// requestSummary stands for the thousands of requests of a download in the step's request
// field: the first segment's 34 and how many blocks followed.
func requestSummary(a *v1alpha1.DownloadAction, opt uds.DownloadOptions, seg flashimage.Segment, segments int, blocks int64) string {
	rd := uds.RequestDownload{DataFormat: opt.DataFormat,
		Memory: uds.MemoryLocation{Address: uint64(seg.Address), Size: uint64(len(seg.Data)), Format: opt.AddressAndLengthFormat}}
	req, err := rd.MarshalBinary()
	if err != nil {
		return fmt.Sprintf("34 (not sent: %v)", err)
	}
	if segments > 1 {
		return fmt.Sprintf("%s ... (%d segments, %d blocks)", uds.FormatHex(req), segments, blocks)
	}
	return fmt.Sprintf("%s ... (%d blocks)", uds.FormatHex(req), blocks)
}

// imageSource turns the step's image into the fetcher's source, in the job's namespace.
func imageSource(a *v1alpha1.DownloadAction, namespace string) image.Source {
	src := image.Source{Namespace: namespace, Format: flashimage.Format(a.Format)}
	if a.Address != nil {
		src.Address = uint32(*a.Address)
	}
	switch im := a.Image; {
	case im.HTTP != nil:
		src.HTTP = &image.HTTPSource{URL: im.HTTP.URL, SHA256: im.HTTP.SHA256}
	case im.OCI != nil:
		src.OCI = &image.OCISource{Ref: im.OCI.Ref}
		if im.OCI.PullSecretRef != nil {
			src.OCI.PullSecretName = im.OCI.PullSecretRef.Name
		}
	case im.ConfigMap != nil:
		src.ConfigMap = &image.ConfigMapSource{Name: im.ConfigMap.Name, Key: im.ConfigMap.Key}
	}
	return src
}

// entityStatusTimeout bounds the entity status request that reads the maximum data size.
const entityStatusTimeout = 2 * time.Second

// doipAddressBytes are the source and target addresses a diagnostic message carries in front of
// the UDS request, within the entity's maximum data size.
const doipAddressBytes = 4

// maxRequestLength is the largest UDS request the DoIP entity accepts, from its entity status
// (maximum data size less the two addresses); 0, no limit, when it does not say or does not answer.
func (s *session) maxRequestLength(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, entityStatusTimeout)
	defer cancel()
	st, err := s.ep.client.EntityStatus(ctx, s.ep.udpAddr)
	if err != nil || !st.HasMaxDataSize || st.MaxDataSize <= doipAddressBytes {
		if err != nil {
			s.log.V(1).Info("No entity status; blocks follow the ECU's maxNumberOfBlockLength alone", "address", s.ep.udpAddr, "error", err.Error())
		}
		return 0
	}
	return int(min(int64(st.MaxDataSize)-doipAddressBytes, int64(maxInt)))
}

// maxInt is the largest int, for lengths read from 64-bit fields.
const maxInt = int(^uint(0) >> 1)
