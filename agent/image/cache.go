package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Cache keeps image files on disk by digest, at most MaxBytes in all, evicting the least
// recently used, so a rack that flashes the same image many times fetches it once. Files
// are named by their sha256 and written atomically (temp file and rename); a read hashes
// the file again, and a file that no longer matches its name is removed and counts as a miss.
// A Cache is safe for concurrent use within one process.
type Cache struct {
	// Dir holds the files; it is created when missing.
	Dir string
	// MaxBytes bounds the files' total size; a file larger than this is not kept.
	MaxBytes int64

	mu sync.Mutex
}

// Get returns the file for digest ("sha256:<hex>"). ok is false on a miss, including a file
// whose content no longer matches its name (it is removed); err reports a disk problem.
func (c *Cache) Get(digest string) (data []byte, ok bool, err error) {
	name, err := cacheName(digest)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := filepath.Join(c.Dir, name)
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("image cache: %w", err)
	}
	if st.Size() > c.MaxBytes {
		return nil, false, c.remove(p, "larger than the cache")
	}
	data, err = os.ReadFile(p)
	if err != nil {
		return nil, false, fmt.Errorf("image cache: %w", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != name {
		return nil, false, c.remove(p, "content does not match its digest")
	}
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil { // the modification time orders eviction
		return data, true, fmt.Errorf("image cache: marking %s used: %w", p, err)
	}
	return data, true, nil
}

// remove deletes a bad cache file and says why in the returned error.
func (c *Cache) remove(p, why string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image cache: %s %s and could not be removed: %w", p, why, err)
	}
	return fmt.Errorf("image cache: removed %s: %s", p, why)
}

// Put stores data, which the caller has verified to have digest, then evicts the least
// recently used files until the total fits MaxBytes. Data larger than MaxBytes is not kept.
func (c *Cache) Put(digest string, data []byte) error {
	name, err := cacheName(digest)
	if err != nil {
		return err
	}
	if int64(len(data)) > c.MaxBytes {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("image cache: %w; check --image-cache-dir", err)
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("image cache: %w; check --image-cache-dir", err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(c.Dir, name))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("image cache: writing %s: %w", name, werr)
	}
	return c.evict(name)
}

// evict removes the oldest files (by modification time) until the total fits, keeping keep.
func (c *Cache) evict(keep string) error {
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	type file struct {
		name string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, e := range entries {
		if _, err := cacheName("sha256:" + e.Name()); err != nil || !e.Type().IsRegular() {
			continue // temp files and strangers are not ours to count
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{e.Name(), info.Size(), info.ModTime()})
		total += info.Size()
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, f := range files {
		if total <= c.MaxBytes {
			break
		}
		if f.name == keep {
			continue
		}
		if err := os.Remove(filepath.Join(c.Dir, f.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("image cache: evicting %s: %w", f.name, err)
		}
		total -= f.size
	}
	return nil
}

// cacheName turns "sha256:<64 hex>" into the file name "<64 hex>".
func cacheName(digest string) (string, error) {
	const prefix = "sha256:"
	if len(digest) < len(prefix) || digest[:len(prefix)] != prefix {
		return "", fmt.Errorf("image cache: digest %q: want sha256:<64 hex digits>", digest)
	}
	hexPart := digest[len(prefix):]
	if len(hexPart) != 64 {
		return "", fmt.Errorf("image cache: digest %q: want 64 lower-case hex digits", digest)
	}
	for _, ch := range hexPart {
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f') {
			return "", fmt.Errorf("image cache: digest %q: want 64 lower-case hex digits", digest)
		}
	}
	return hexPart, nil
}
