package storage

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gregor-dst/gregor/env"
)

// Checkpoint file names inside a partition directory.
const (
	logStartFile      = "log-start-offset"
	recoveryPointFile = "recovery-point"
	epochFile         = "leader-epoch-checkpoint"
	// checkpointBytesMax bounds what Open reads of a checkpoint file.
	checkpointBytesMax = 1 << 20
)

// Checkpoints are text, in the layout of Kafka's checkpoint files: a
// version line, a count line, then one entry per line.
//
//	0
//	2
//	0 0
//	3 1200

const checkpointVersion = 0

func encodeLines(lines []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(lines))
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func decodeLines(data []byte) ([]string, error) {
	text, ok := strings.CutSuffix(string(data), "\n")
	if !ok {
		return nil, errors.New("no final newline")
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 2 || lines[0] != strconv.Itoa(checkpointVersion) {
		return nil, errors.New("bad version line")
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("count %q does not match %d entries", lines[1], len(lines)-2)
	}
	return lines[2:], nil
}

func encodeOffset(offset int64) []byte {
	return encodeLines([]string{strconv.FormatInt(offset, 10)})
}

func decodeOffset(data []byte) (int64, error) {
	lines, err := decodeLines(data)
	if err != nil {
		return 0, err
	}
	if len(lines) != 1 {
		return 0, fmt.Errorf("%d entries, want 1", len(lines))
	}
	v, err := strconv.ParseInt(lines[0], 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad offset %q", lines[0])
	}
	return v, nil
}

func encodeEpochs(entries []EpochEntry) []byte {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = fmt.Sprintf("%d %d", e.Epoch, e.StartOffset)
	}
	return encodeLines(lines)
}

func decodeEpochs(data []byte) ([]EpochEntry, error) {
	lines, err := decodeLines(data)
	if err != nil {
		return nil, err
	}
	out := make([]EpochEntry, 0, len(lines))
	for _, l := range lines {
		a, b, ok := strings.Cut(l, " ")
		epoch, err1 := strconv.ParseInt(a, 10, 32)
		start, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || epoch < 0 || start < 0 {
			return nil, fmt.Errorf("bad entry %q", l)
		}
		e := EpochEntry{Epoch: int32(epoch), StartOffset: start}
		if n := len(out); n > 0 && (e.Epoch <= out[n-1].Epoch || e.StartOffset <= out[n-1].StartOffset) {
			return nil, fmt.Errorf("entry %q does not follow %v", l, out[n-1])
		}
		out = append(out, e)
	}
	return out, nil
}

// readCheckpoint returns a checkpoint file's content; found is false when
// the file does not exist.
func readCheckpoint(fs env.FS, path string) (data []byte, found bool, err error) {
	f, err := fs.Open(path)
	if errors.Is(err, env.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	size := f.Size()
	if size > checkpointBytesMax {
		return nil, true, fmt.Errorf("%s is %d bytes, more than %d", path, size, checkpointBytesMax)
	}
	data = make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, true, err
	}
	return data, true, nil
}

// checkpoint replaces one checkpoint file atomically: write a temporary
// file, fsync it, rename it over the old one, fsync the directory. Writes
// are coalesced: a request while one runs is served by one more write
// after it, of the content current then.
//
// version counts changes to the content; durable is the version the last
// completed write held. Requests complete in order through callbacks.
type checkpoint struct {
	l       *Log
	path    string
	encode  func() []byte
	version uint64
	durable uint64
	writing bool
	// written is called with the version a write made durable, before its
	// waiters.
	written func(version uint64)
	waiters []func(error) // of the running write
	queued  []func(error) // for the write after it
	again   bool
}

// changed notes that the content changed and must be written again.
func (c *checkpoint) changed() { c.version++ }

// clean reports whether the durable file holds the current content.
func (c *checkpoint) clean() bool { return c.durable == c.version && !c.writing }

// sync makes the current content durable, then calls done (which may be
// nil). With nothing to write, done runs before sync returns: this is
// internal, and callers chain on it.
func (c *checkpoint) sync(done func(error)) {
	switch {
	case c.writing:
		c.again = true
		c.queued = append(c.queued, done)
	case c.durable == c.version:
		call(done, nil)
	default:
		c.start([]func(error){done})
	}
}

func (c *checkpoint) start(waiters []func(error)) {
	c.writing, c.waiters = true, waiters
	version, data := c.version, c.encode()
	fs, tmp := c.l.fs, c.path+tmpSuffix
	if err := fs.Remove(tmp); err != nil && !errors.Is(err, env.ErrNotExist) {
		c.finish(version, err)
		return
	}
	f, err := fs.Create(tmp)
	if err != nil {
		c.finish(version, err)
		return
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		c.finish(version, err)
		return
	}
	f.Sync(func(err error) {
		f.Close()
		if err == nil && !c.l.closed {
			err = fs.Rename(tmp, c.path)
		}
		if err != nil || c.l.closed {
			c.finish(version, err)
			return
		}
		fs.SyncDir(c.l.dir, func(err error) { c.finish(version, err) })
	})
}

func (c *checkpoint) finish(version uint64, err error) {
	c.writing = false
	if c.l.closed && err == nil {
		err = fmt.Errorf("checkpoint %s: %w", c.path, env.ErrClosed)
	}
	if err != nil {
		c.l.log.Warn("checkpoint write failed", "file", c.path, "err", err)
	} else if version > c.durable {
		c.durable = version
		if c.written != nil {
			c.written(version)
		}
	}
	waiters := c.waiters
	c.waiters = nil
	for _, w := range waiters {
		call(w, err)
	}
	if !c.again || c.l.closed {
		c.failQueued()
		return
	}
	queued := c.queued
	c.again, c.queued = false, nil
	if c.durable == c.version {
		for _, w := range queued {
			call(w, nil)
		}
		return
	}
	c.start(queued)
}

func (c *checkpoint) failQueued() {
	queued := c.queued
	c.again, c.queued = false, nil
	for _, w := range queued {
		call(w, fmt.Errorf("checkpoint %s: %w", c.path, env.ErrClosed))
	}
}

func call(done func(error), err error) {
	if done != nil {
		done(err)
	}
}
