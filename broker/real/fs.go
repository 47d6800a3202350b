package real

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/gregor-dst/gregor/env"
)

// fsys is the node's env.FS: the data directory, through an os.Root so
// that no path (nor a symbolic link inside) escapes it. Directories exist
// implicitly, as env.FS has them: they are made when a file needs them and
// removed when their last entry goes. Loop only, except what the syncers
// run.
type fsys struct {
	r      *Runtime
	root   *os.Root
	files  map[*file]struct{}
	inodes map[inodeKey]*inode
	// fresh lists directories made since their parent was last synced:
	// SyncDir of a path beneath one syncs its parent too, since on Linux
	// a file's entry survives a crash only if its directory's does.
	fresh map[string]bool
	dirs  map[string]*syncer
}

var _ env.FS = (*fsys)(nil)

func newFS(r *Runtime, root *os.Root) *fsys {
	return &fsys{
		r:      r,
		root:   root,
		files:  map[*file]struct{}{},
		inodes: map[inodeKey]*inode{},
		fresh:  map[string]bool{},
		dirs:   map[string]*syncer{},
	}
}

// validPath accepts what the simulator accepts: a relative slash path
// without empty, "." or ".." elements.
func validPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("invalid path %q", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid path %q", p)
		}
	}
	return nil
}

// validDir is validPath, plus "" for the root.
func validDir(dir string) error {
	if dir == "" {
		return nil
	}
	return validPath(dir)
}

func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// rootName is dir as os.Root names it.
func rootName(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

func notExist(op, path string) error {
	return fmt.Errorf("%s %s: is a directory: %w", op, path, env.ErrNotExist)
}

func (fs *fsys) Create(path string) (env.File, error) {
	if err := validPath(path); err != nil {
		return nil, err
	}
	if err := fs.mkdirs(parentDir(path)); err != nil {
		return nil, fsError(err)
	}
	osf, err := fs.root.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		fs.removeEmptyDirs(parentDir(path))
		return nil, fsError(err)
	}
	return fs.adopt(path, osf)
}

func (fs *fsys) Open(path string) (env.File, error) {
	if err := validPath(path); err != nil {
		return nil, err
	}
	osf, err := fs.root.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fsError(err)
	}
	return fs.adopt(path, osf)
}

func (fs *fsys) Remove(path string) error {
	if err := fs.checkFile("remove", path); err != nil {
		return err
	}
	if err := fs.root.Remove(path); err != nil {
		return fsError(err)
	}
	fs.removeEmptyDirs(parentDir(path))
	return nil
}

func (fs *fsys) Rename(oldPath, newPath string) error {
	if err := fs.checkFile("rename", oldPath); err != nil {
		return err
	}
	if err := validPath(newPath); err != nil {
		return err
	}
	if oldPath == newPath {
		return nil
	}
	if err := fs.mkdirs(parentDir(newPath)); err != nil {
		return fsError(err)
	}
	if err := fs.root.Rename(oldPath, newPath); err != nil {
		fs.removeEmptyDirs(parentDir(newPath))
		return fsError(err)
	}
	fs.removeEmptyDirs(parentDir(oldPath))
	return nil
}

// checkFile fails unless path names a file (directories are not entries).
func (fs *fsys) checkFile(op, path string) error {
	if err := validPath(path); err != nil {
		return err
	}
	fi, err := fs.root.Lstat(path)
	if err != nil {
		return fsError(err)
	}
	if fi.IsDir() {
		return notExist(op, path)
	}
	return nil
}

// List names the files and non-empty subdirectories (with a trailing "/")
// directly in dir. A missing or empty directory other than the root fails
// with env.ErrNotExist, as under the simulator, where a directory is only
// the prefix of the paths it holds.
func (fs *fsys) List(dir string) ([]string, error) {
	if err := validDir(dir); err != nil {
		return nil, err
	}
	d, err := fs.root.Open(rootName(dir))
	if err != nil {
		return nil, fsError(err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, fsError(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			// Only a crash between a remove and its directory's removal
			// leaves one empty; it does not exist for env.FS.
			if !fs.holdsEntry(join(dir, name)) {
				continue
			}
			name += "/"
		}
		names = append(names, name)
	}
	if len(names) == 0 && dir != "" {
		return nil, fmt.Errorf("list %s: %w", dir, env.ErrNotExist)
	}
	slices.Sort(names)
	return names, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (fs *fsys) holdsEntry(dir string) bool {
	d, err := fs.root.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(1)
	return len(names) > 0
}

func (fs *fsys) Stat(path string) (int64, error) {
	if err := validPath(path); err != nil {
		return 0, err
	}
	fi, err := fs.root.Stat(path)
	if err != nil {
		return 0, fsError(err)
	}
	if fi.IsDir() {
		return 0, notExist("stat", path)
	}
	return fi.Size(), nil
}

// SyncDir fsyncs dir, and the parents of directories beneath the root
// made since they were last synced, on syncer goroutines; done runs on the
// loop when all are durable.
func (fs *fsys) SyncDir(dir string, done func(error)) {
	if err := validDir(dir); err != nil {
		fs.r.later(func() { done(err) })
		return
	}
	dirs := []string{dir}
	var covered []string
	for a := dir; a != ""; a = parentDir(a) {
		if fs.fresh[a] {
			covered = append(covered, a)
			dirs = append(dirs, parentDir(a))
		}
	}
	all := joinDones(len(dirs), func(err error) {
		if err == nil {
			for _, a := range covered {
				delete(fs.fresh, a)
			}
		}
		done(err)
	})
	for _, d := range dirs {
		fs.dirSyncer(d).sync(all)
	}
}

func (fs *fsys) dirSyncer(dir string) *syncer {
	s := fs.dirs[dir]
	if s == nil {
		s = newSyncer(fs.r, func() error { return fs.fsyncDir(dir) })
		fs.dirs[dir] = s
	}
	return s
}

// fsyncDir fsyncs dir. A directory removed since (its last entry went)
// is represented by the nearest ancestor that still exists: its fsync
// makes that removal, and with it the entries', durable. Runs on a syncer
// goroutine; os.Root is safe for that.
func (fs *fsys) fsyncDir(dir string) error {
	for {
		d, err := fs.root.Open(rootName(dir))
		if errors.Is(err, os.ErrNotExist) && dir != "" {
			dir = parentDir(dir)
			continue
		}
		if err != nil {
			return fsError(err)
		}
		err = d.Sync()
		d.Close()
		return fsError(err)
	}
}

// joinDones returns a completion to be called n times; done gets the
// first error once all have come. Loop only.
func joinDones(n int, done func(error)) func(error) {
	var first error
	return func(err error) {
		if first == nil {
			first = err
		}
		n--
		if n == 0 {
			done(first)
		}
	}
}

// mkdirs makes dir and its missing ancestors, noting the new ones as
// fresh.
func (fs *fsys) mkdirs(dir string) error {
	if dir == "" {
		return nil
	}
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		sub := dir[:i]
		err := fs.root.Mkdir(sub, 0o755)
		if err == nil {
			fs.fresh[sub] = true
			continue
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		if !fs.isDir(sub) {
			return &os.PathError{Op: "mkdir", Path: sub, Err: syscall.ENOTDIR}
		}
	}
	return nil
}

// isDir reports whether name is a directory itself, not a file or a
// symbolic link.
func (fs *fsys) isDir(name string) bool {
	fi, err := fs.root.Lstat(name)
	return err == nil && fi.IsDir()
}

// removeEmptyDirs removes dir and its ancestors while they are empty
// directories. The check matters: os.Root's Remove would as gladly remove
// a file or a symbolic link standing where a directory was expected.
func (fs *fsys) removeEmptyDirs(dir string) {
	for ; dir != ""; dir = parentDir(dir) {
		if !fs.isDir(dir) || fs.root.Remove(dir) != nil {
			return // not empty (or gone): the directories above hold it
		}
		delete(fs.fresh, dir)
		delete(fs.dirs, dir)
	}
}

// adopt wraps an opened os.File, sharing the size with other handles on
// the same file.
func (fs *fsys) adopt(path string, osf *os.File) (env.File, error) {
	fi, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, fsError(err)
	}
	if fi.IsDir() {
		osf.Close()
		return nil, notExist("open", path)
	}
	f := &file{fs: fs, path: path, osf: osf, ino: fs.inode(fi)}
	f.syncer = newSyncer(fs.r, func() error { return fsError(osf.Sync()) })
	fs.files[f] = struct{}{}
	return f, nil
}

func (fs *fsys) inode(fi os.FileInfo) *inode {
	key, keyed := inodeOf(fi)
	if ino := fs.inodes[key]; keyed && ino != nil {
		ino.refs++
		return ino
	}
	ino := &inode{sizeBytes: fi.Size(), refs: 1, key: key, keyed: keyed}
	if keyed {
		fs.inodes[key] = ino
	}
	return ino
}

func (fs *fsys) release(ino *inode) {
	ino.refs--
	if ino.refs == 0 && ino.keyed {
		delete(fs.inodes, ino.key)
	}
}

// close closes what the process left open. It runs after every syncer
// has finished.
func (fs *fsys) close() {
	for f := range fs.files { //gregor:unordered-ok closing every file; order cannot matter
		f.osf.Close()
	}
	clear(fs.files)
	fs.root.Close()
}
