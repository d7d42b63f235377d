// Package samples embeds the demo rack: the ECU and DiagnosticJob samples and the simulated ECUs
// they run against (sims/), so that `ecufleet demo` works from any directory.
package samples

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml sims/*.yaml
var files embed.FS

// FS is config/samples as it was when the binary was built.
func FS() fs.FS { return files }
