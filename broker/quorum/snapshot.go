package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gregor-dst/gregor/env"
)

// Snapshots (KIP-630). The state machine hands over its state at the
// offset it has applied to; the node writes it to a file named by its
// snapshot id (end offset and epoch, as Kafka's
// <end>-<epoch>.checkpoint), durably, and only then moves the log start
// past it, so a crash never leaves a log without the snapshot below it.
// The leader serves the file in chunks to followers whose fetch offset
// fell below its log start (FetchSnapshot).
//
// File layout (big endian): magic "GQSN", version 1, end offset int64,
// epoch int32, data length int64, the data, CRC32C of everything before
// it. A download is checked against the CRC before it is installed.

const (
	snapDirName    = "snapshots"
	snapSuffix     = ".checkpoint"
	snapTmpSuffix  = ".part"
	snapMagic      = "GQSN"
	snapHeaderSize = 4 + 1 + 8 + 4 + 8
	snapTrailer    = 4
	// snapsKept is how many snapshot files stay: the previous one keeps
	// serving downloads that started before the newest was written.
	snapsKept = 2
)

// snapshotID names a snapshot: it holds the state after every entry
// below End, the last of which has epoch Epoch.
type snapshotID struct {
	End   int64
	Epoch int32
}

// snapFile is a snapshot on disk, open for serving chunks.
type snapFile struct {
	id   snapshotID
	path string
	size int64
	f    env.File
}

type snapshotStore struct {
	n     *Node
	dir   string
	files []*snapFile // oldest first, at most snapsKept
	// writing: a snapshot is being written; no other starts meanwhile.
	writing bool
}

func newSnapshotStore(n *Node) *snapshotStore {
	return &snapshotStore{n: n, dir: n.cfg.Dir + "/" + snapDirName}
}

func snapName(id snapshotID) string {
	return fmt.Sprintf("%020d-%010d%s", id.End, id.Epoch, snapSuffix)
}

func parseSnapName(name string) (snapshotID, bool) {
	base, ok := strings.CutSuffix(name, snapSuffix)
	end, epoch, ok2 := strings.Cut(base, "-")
	e, err1 := strconv.ParseInt(end, 10, 64)
	p, err2 := strconv.ParseInt(epoch, 10, 32)
	if !ok || !ok2 || err1 != nil || err2 != nil || e < 0 || p < 0 {
		return snapshotID{}, false
	}
	return snapshotID{End: e, Epoch: int32(p)}, true
}

// latest is the newest snapshot, ok false if there is none.
func (s *snapshotStore) latest() (snapshotID, bool) {
	if len(s.files) == 0 {
		return snapshotID{}, false
	}
	return s.files[len(s.files)-1].id, true
}

func (s *snapshotStore) find(id snapshotID) *snapFile {
	for _, f := range s.files {
		if f.id == id {
			return f
		}
	}
	return nil
}

// load opens the newest valid snapshot and returns its data, removing
// leftovers of interrupted writes and downloads, files that fail their
// check, and all but the newest snapsKept.
func (s *snapshotStore) load() (data []byte, id snapshotID, ok bool, err error) {
	fs := s.n.e.FS()
	names, err := fs.List(s.dir)
	if err != nil && !errors.Is(err, env.ErrNotExist) {
		return nil, id, false, err
	}
	var ids []snapshotID
	for _, name := range names {
		if sid, good := parseSnapName(name); good {
			ids = append(ids, sid)
		} else if !strings.HasSuffix(name, "/") {
			s.remove(s.dir + "/" + name)
		}
	}
	slices.SortFunc(ids, cmpSnapshotID)
	for i := len(ids) - 1; i >= 0; i-- {
		path := s.dir + "/" + snapName(ids[i])
		f, d, err := s.open(path, ids[i])
		if err != nil {
			if errors.Is(err, env.ErrIO) {
				return nil, id, false, err // a read error, not a bad file: retry the boot
			}
			s.n.log.Warn("dropping a bad snapshot", "file", path, "err", err)
			s.remove(path)
			continue
		}
		if !ok {
			data, id, ok = d, ids[i], true
		}
		s.files = append([]*snapFile{f}, s.files...)
		if len(s.files) == snapsKept {
			for _, old := range ids[:i] {
				s.remove(s.dir + "/" + snapName(old))
			}
			break
		}
	}
	return data, id, ok, nil
}

// open reads and checks a snapshot file, keeping it open.
func (s *snapshotStore) open(path string, id snapshotID) (*snapFile, []byte, error) {
	f, err := s.n.e.FS().Open(path)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, f.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, nil, err
	}
	got, data, err := decodeSnapshot(buf)
	if err == nil && got != id {
		err = fmt.Errorf("%w: file %s holds snapshot %v", errBadMessage, path, got)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &snapFile{id: id, path: path, size: int64(len(buf)), f: f}, data, nil
}

func (s *snapshotStore) remove(path string) {
	if err := s.n.e.FS().Remove(path); err != nil && !errors.Is(err, env.ErrNotExist) {
		s.n.log.Warn("removing snapshot file", "file", path, "err", err)
	}
}

// add registers a snapshot made durable at path and drops the oldest past
// snapsKept.
func (s *snapshotStore) add(f *snapFile) {
	s.files = append(s.files, f)
	slices.SortFunc(s.files, func(a, b *snapFile) int { return cmpSnapshotID(a.id, b.id) })
	for len(s.files) > snapsKept {
		old := s.files[0]
		s.files = s.files[1:]
		old.f.Close()
		s.remove(old.path)
	}
	s.n.e.FS().SyncDir(s.dir, func(error) {}) // removals only: best effort
}

func (s *snapshotStore) close() {
	for _, f := range s.files {
		f.f.Close()
	}
	s.files = nil
}

// write makes a snapshot durable (temporary file, fsync, rename,
// directory fsync) and registers it, then calls done.
func (s *snapshotStore) write(id snapshotID, data []byte, done func(error)) {
	s.writing = true
	inc := s.n.inc
	buf := encodeSnapshot(id, data)
	path := s.dir + "/" + snapName(id)
	tmp := path + snapTmpSuffix
	finish := func(err error) {
		if s.n.inc != inc {
			return
		}
		s.writing = false
		done(err)
	}
	f, err := s.createFile(tmp)
	if err == nil {
		_, err = f.Append(buf)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.n.failLater(finish, err)
		return
	}
	s.commitFile(f, tmp, path, id, finish)
}

// createFile creates path afresh, replacing a leftover.
func (s *snapshotStore) createFile(path string) (env.File, error) {
	fs := s.n.e.FS()
	if err := fs.Remove(path); err != nil && !errors.Is(err, env.ErrNotExist) {
		return nil, err
	}
	return fs.Create(path)
}

// commitFile fsyncs the temporary file f, renames it to path, fsyncs the
// directory, reopens it for serving and registers it.
func (s *snapshotStore) commitFile(f env.File, tmp, path string, id snapshotID, done func(error)) {
	fs := s.n.e.FS()
	size := f.Size()
	f.Sync(func(err error) {
		f.Close()
		if err == nil {
			err = fs.Rename(tmp, path)
		}
		if err != nil {
			done(err)
			return
		}
		fs.SyncDir(s.dir, func(err error) {
			if err != nil {
				done(err)
				return
			}
			rf, err := fs.Open(path)
			if err != nil {
				done(err)
				return
			}
			s.add(&snapFile{id: id, path: path, size: size, f: rf})
			done(nil)
		})
	})
}

// readChunk returns up to maxBytes of snapshot id's file from pos.
func (s *snapshotStore) readChunk(id snapshotID, pos int64, maxBytes int) (chunk []byte, size int64, found bool, err error) {
	f := s.find(id)
	if f == nil {
		return nil, 0, false, nil
	}
	if pos < 0 || pos > f.size {
		return nil, f.size, true, fmt.Errorf("position %d outside snapshot of %d bytes", pos, f.size)
	}
	chunk = make([]byte, min(int64(maxBytes), f.size-pos))
	if _, err := f.f.ReadAt(chunk, pos); err != nil && !errors.Is(err, io.EOF) {
		return nil, f.size, true, err
	}
	return chunk, f.size, true, nil
}

func encodeSnapshot(id snapshotID, data []byte) []byte {
	buf := make([]byte, 0, snapHeaderSize+len(data)+snapTrailer)
	buf = append(buf, snapMagic...)
	buf = append(buf, 1)
	buf = binary.BigEndian.AppendUint64(buf, uint64(id.End))
	buf = binary.BigEndian.AppendUint32(buf, uint32(id.Epoch))
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(data)))
	buf = append(buf, data...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

func decodeSnapshot(buf []byte) (snapshotID, []byte, error) {
	if len(buf) < snapHeaderSize+snapTrailer || string(buf[:4]) != snapMagic || buf[4] != 1 {
		return snapshotID{}, nil, fmt.Errorf("%w: not a snapshot (%d bytes)", errBadMessage, len(buf))
	}
	body := buf[:len(buf)-snapTrailer]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(buf[len(body):]) {
		return snapshotID{}, nil, fmt.Errorf("%w: snapshot CRC mismatch", errBadMessage)
	}
	id := snapshotID{End: int64(binary.BigEndian.Uint64(buf[5:])), Epoch: int32(binary.BigEndian.Uint32(buf[13:]))}
	n := binary.BigEndian.Uint64(buf[17:])
	if n != uint64(len(body)-snapHeaderSize) {
		return snapshotID{}, nil, fmt.Errorf("%w: snapshot length %d, file holds %d", errBadMessage, n, len(body)-snapHeaderSize)
	}
	return id, body[snapHeaderSize:], nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func cmpSnapshotID(a, b snapshotID) int {
	switch {
	case a.End != b.End:
		return cmpInt64(a.End, b.End)
	case a.Epoch < b.Epoch:
		return -1
	case a.Epoch > b.Epoch:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
