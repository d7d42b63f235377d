package image

import (
	"errors"
	"fmt"
)

// ErrImageInvalid marks an image whose bytes are wrong (digest mismatch, parse error, too
// large, malformed OCI artifact), so callers can fail the step with reason ImageInvalid
// without retrying.
var ErrImageInvalid = errors.New("image invalid")

// ErrImageUnavailable marks a source that could not be read (network error, HTTP status,
// registry refusal, missing ConfigMap), so callers can retry and report ImageUnavailable.
var ErrImageUnavailable = errors.New("image unavailable")

// invalidf returns an error wrapping ErrImageInvalid; %w verbs in format wrap their causes too.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrImageInvalid}, args...)...)
}

// unavailablef returns an error wrapping ErrImageUnavailable.
func unavailablef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrImageUnavailable}, args...)...)
}
