package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"github.com/ecufleet/ecufleet/pkg/pcapng"
)

// capture is the --pcap recording of one doip command: the tester's own TCP and UDP frames,
// rebuilt as pcapng, each packet commented with what the command was doing.
type capture struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	w    *pcapng.Writer
	hook *pcapng.DoIPHook
}

// openCapture creates path and writes the pcapng file header to it.
func openCapture(path string) (*capture, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--pcap: %w", err)
	}
	c := &capture{path: path, f: f, buf: bufio.NewWriter(f)}
	if c.w, err = pcapng.NewWriter(c.buf, pcapng.Options{Application: "ecufleet doip"}); err != nil {
		f.Close()
		return nil, fmt.Errorf("--pcap %s: %w", path, err)
	}
	c.hook = pcapng.NewDoIPHook(c.w)
	return c, nil
}

// close writes what is buffered and closes the file; the error is the first of the
// recording's and the file's, naming the file.
func (c *capture) close() error {
	err := errors.Join(c.hook.Err(), c.buf.Flush(), c.f.Close())
	if err != nil {
		return fmt.Errorf("--pcap %s: recording the session failed: %w", c.path, err)
	}
	return nil
}

// note names what the packets recorded from now on are for ("send 3E 00"); without --pcap it
// does nothing.
func (o *doipOptions) note(what string) {
	if o.capture != nil {
		o.capture.hook.SetComment(what)
	}
}
