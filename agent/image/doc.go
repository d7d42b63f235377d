// Package image delivers the flash image of a download step: it fetches the file from an
// HTTP server (sha256 checked while streaming), an OCI registry (an artifact of one layer,
// pulled with oras-go) or a ConfigMap's binaryData, keeps it in a bounded on-disk cache by
// digest, and parses it with pkg/flashimage into segments. Nothing here talks to the ECU,
// so a digest mismatch or a parse error is known before a single byte is flashed.
//
// Errors come in two kinds, told apart with errors.Is: ErrImageInvalid (the bytes are wrong:
// digest mismatch, parse error, too large, malformed artifact; retrying will not help, the
// step fails with reason ImageInvalid) and ErrImageUnavailable (the source could not be
// reached or refused us; the agent may retry and report ImageUnavailable).
package image
