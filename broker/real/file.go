package real

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gregor-dst/gregor/env"
)

// inodeKey identifies a file on its device.
type inodeKey struct{ dev, ino uint64 }

// inode is what the open handles of one file share: its size, kept here
// so Size and Append need no system call. Every write goes to the kernel
// at once (the page cache), so it always equals what fstat would say.
type inode struct {
	sizeBytes int64
	refs      int
	key       inodeKey
	keyed     bool // key is known; else the inode is this handle's alone
}

// file is an open file; its methods run on the loop, its fsyncs on its
// syncer.
type file struct {
	fs     *fsys
	path   string
	osf    *os.File
	ino    *inode
	syncer *syncer
	closed bool
}

var _ env.File = (*file)(nil)

func (f *file) Path() string { return f.path }
func (f *file) Size() int64  { return f.ino.sizeBytes }

func (f *file) check(op string, off int64) error {
	switch {
	case f.closed:
		return fmt.Errorf("%s %s: %w", op, f.path, env.ErrClosed)
	case off < 0:
		return fmt.Errorf("%s %s: negative offset or size %d", op, f.path, off)
	}
	return nil
}

// ReadAt returns io.EOF itself (not wrapped) on a short read, as os.File
// does and env.File promises.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read", off); err != nil {
		return 0, err
	}
	n, err := f.osf.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	return n, fsError(err)
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.check("write", off); err != nil {
		return 0, err
	}
	n, err := f.osf.WriteAt(p, off)
	f.ino.sizeBytes = max(f.ino.sizeBytes, off+int64(n))
	return n, fsError(err)
}

func (f *file) Append(p []byte) (int64, error) {
	off := f.ino.sizeBytes
	_, err := f.WriteAt(p, off)
	return off, err
}

func (f *file) Truncate(size int64) error {
	if err := f.check("truncate", size); err != nil {
		return err
	}
	if err := f.osf.Truncate(size); err != nil {
		return fsError(err)
	}
	f.ino.sizeBytes = size
	return nil
}

// Sync fsyncs on the file's syncer; done runs on the loop.
func (f *file) Sync(done func(error)) {
	if f.closed {
		err := fmt.Errorf("sync %s: %w", f.path, env.ErrClosed)
		f.fs.r.later(func() { done(err) })
		return
	}
	f.syncer.sync(done)
}

// Close closes the handle. Syncs already asked for still complete: the
// descriptor is closed after the last of them.
func (f *file) Close() error {
	if f.closed {
		return fmt.Errorf("close %s: %w", f.path, env.ErrClosed)
	}
	f.closed = true
	delete(f.fs.files, f)
	f.fs.release(f.ino)
	if f.syncer.deferIfBusy(func() { f.osf.Close() }) {
		return nil
	}
	return fsError(f.osf.Close())
}
