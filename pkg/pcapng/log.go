package pcapng

import (
	"net/netip"
	"sync"
	"time"
	"unsafe"
)

// Log holds frames and connection events in memory for a Writer that may never be needed,
// such as a job's trace that is kept only when the job fails: logging a frame costs a copy
// of the bytes a Writer would keep (a TransferData block trimmed as a Writer trims it), not
// building and compressing its packets. Replay hands everything to a Writer later, with the
// same result as recording into it at once. It is safe for concurrent use.
type Log struct {
	mu sync.Mutex
	// records and data grow in chunks, never copied: a flash logs thousands of frames.
	records [][]logRecord // each of capacity logChunkRecords; the last one is being filled
	data    [][]byte      // the frames' bytes, back to back; a chunk holds logChunkBytes or one larger frame
	size    int
}

// Chunk sizes of a Log: large enough to be few, small enough that a short trace stays small.
const (
	logChunkRecords = 512
	logChunkBytes   = 64 << 10
)

// logRecord is one logged frame, whose bytes are data[chunk][off:end] (trimmed from orig bytes
// when orig is not 0), or one connection event.
type logRecord struct {
	time          time.Time
	local, remote netip.AddrPort
	comment       string
	chunk         int
	off, end      int
	orig          int
	dir           Direction
	transport     Transport
	kind          EventKind
	event         bool
}

// logRecordSize is what one logRecord costs in Size.
const logRecordSize = int(unsafe.Sizeof(logRecord{}))

// Frame logs one DoIP message; the Log keeps a copy of what the Writer will store of it.
// Errors in it are those of Writer.Frame, returned by Replay.
func (l *Log) Frame(f Frame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, orig := f.size(), 0
	if trims(&f) {
		n, orig = trimmedLen, f.size()
	}
	buf := l.room(n)
	off := len(*buf)
	if orig > 0 {
		*buf = appendTrimmed(*buf, &f)
	} else {
		*buf = f.appendMessage(*buf)
	}
	l.add(logRecord{time: f.Time, local: f.Local, remote: f.Remote, comment: f.Comment,
		chunk: len(l.data) - 1, off: off, end: len(*buf), orig: orig, dir: f.Dir, transport: f.Transport})
}

// Event logs a TCP connection opening or closing.
func (l *Log) Event(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(logRecord{time: e.Time, local: e.Local, remote: e.Remote, comment: e.Comment,
		dir: e.Dir, kind: e.Kind, event: true})
}

// room returns the data chunk that n more bytes go into, starting a new one when the last is
// full; under mu.
func (l *Log) room(n int) *[]byte {
	if k := len(l.data); k > 0 && cap(l.data[k-1])-len(l.data[k-1]) >= n {
		return &l.data[k-1]
	}
	l.data = append(l.data, make([]byte, 0, max(n, logChunkBytes)))
	l.size += cap(l.data[len(l.data)-1])
	return &l.data[len(l.data)-1]
}

// add appends r, starting a new record chunk when the last is full; under mu.
func (l *Log) add(r logRecord) {
	if k := len(l.records); k == 0 || len(l.records[k-1]) == logChunkRecords {
		l.records = append(l.records, make([]logRecord, 0, logChunkRecords))
		l.size += logChunkRecords * logRecordSize
	}
	k := len(l.records) - 1
	l.records[k] = append(l.records[k], r)
}

// Size is about how many bytes of memory the Log holds, so a caller can bound it (by
// replaying into a Writer and recording there from then on).
func (l *Log) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Replay records everything logged into w, in order, and empties the Log. It returns the
// first error that recording each into w at once would have returned; as there, a frame or
// event in error is skipped and the rest are still recorded.
func (l *Log) Replay(w *Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for _, chunk := range l.records {
		for _, r := range chunk {
			var err error
			if r.event {
				err = w.Event(Event{Time: r.time, Kind: r.kind, Dir: r.dir, Local: r.local, Remote: r.remote, Comment: r.comment})
			} else {
				err = w.frame(Frame{Time: r.time, Dir: r.dir, Transport: r.transport, Local: r.local, Remote: r.remote,
					Data: l.data[r.chunk][r.off:r.end:r.end], Comment: r.comment}, r.orig)
			}
			if first == nil {
				first = err
			}
		}
	}
	l.records, l.data, l.size = nil, nil, 0
	return first
}
