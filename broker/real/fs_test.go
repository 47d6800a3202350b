package real

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

// fsRuntime is a running runtime and its data directory, for FS tests.
func fsRuntime(t *testing.T) (*running, string) {
	t.Helper()
	r, _ := newRuntime(t, nil)
	return start(t, r, &process{}), r.opts.DataDir
}

// onLoop runs f on the loop with the node's FS and returns f's error;
// assertions happen back on the test goroutine.
func onLoop(t *testing.T, rr *running, f func(fsys env.FS) error) error {
	t.Helper()
	var err error
	rr.do(t, func() { err = f(rr.Env().FS()) })
	return err
}

func create(fsys env.FS, path string, data string) error {
	f, err := fsys.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Append([]byte(data)); err != nil {
		return err
	}
	return f.Close()
}

func TestFSCreateOpenStat(t *testing.T) {
	rr, dir := fsRuntime(t)
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return create(fsys, "log/t-0/0.log", "hello") }))
	assert.FileExists(t, filepath.Join(dir, "log/t-0/0.log"))

	var size int64
	err := onLoop(t, rr, func(fsys env.FS) (err error) { size, err = fsys.Stat("log/t-0/0.log"); return })
	require.NoError(t, err)
	assert.Equal(t, int64(5), size)

	cases := []struct {
		name string
		op   func(env.FS) error
		want error
	}{
		{"create existing", func(fsys env.FS) error { _, err := fsys.Create("log/t-0/0.log"); return err }, env.ErrExist},
		{"open missing", func(fsys env.FS) error { _, err := fsys.Open("log/t-0/1.log"); return err }, env.ErrNotExist},
		{"open directory", func(fsys env.FS) error { _, err := fsys.Open("log"); return err }, env.ErrNotExist},
		{"stat missing", func(fsys env.FS) error { _, err := fsys.Stat("nope"); return err }, env.ErrNotExist},
		{"stat directory", func(fsys env.FS) error { _, err := fsys.Stat("log/t-0"); return err }, env.ErrNotExist},
		{"create under a file", func(fsys env.FS) error { _, err := fsys.Create("log/t-0/0.log/x"); return err }, env.ErrNotExist},
		{"remove missing", func(fsys env.FS) error { return fsys.Remove("log/t-0/1.log") }, env.ErrNotExist},
		{"remove directory", func(fsys env.FS) error { return fsys.Remove("log/t-0") }, env.ErrNotExist},
		{"rename missing", func(fsys env.FS) error { return fsys.Rename("nope", "other") }, env.ErrNotExist},
		{"rename directory", func(fsys env.FS) error { return fsys.Rename("log", "other") }, env.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, onLoop(t, rr, tc.op), tc.want)
		})
	}
	assert.FileExists(t, filepath.Join(dir, "log/t-0/0.log"), "failed operations left the file alone")
}

func TestFSList(t *testing.T) {
	rr, dir := fsRuntime(t)
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error {
		return errors.Join(
			create(fsys, "x", ""), create(fsys, "d/y", ""), create(fsys, "d/e/z", ""),
			create(fsys, "d/a", ""), create(fsys, "b", ""))
	}))
	// A crash between a remove and its directory's removal leaves an
	// empty directory: it does not exist for env.FS.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d/empty"), 0o755))

	cases := []struct {
		dir  string
		want []string
		err  error
	}{
		{"", []string{"b", "d/", "x"}, nil},
		{"d", []string{"a", "e/", "y"}, nil},
		{"d/e", []string{"z"}, nil},
		{"d/empty", nil, env.ErrNotExist},
		{"missing", nil, env.ErrNotExist},
		{"x", nil, env.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			var got []string
			err := onLoop(t, rr, func(fsys env.FS) (err error) { got, err = fsys.List(tc.dir); return })
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestFSRemoveEmptiesDirectories: directories exist while they hold an
// entry, on disk too.
func TestFSRemoveEmptiesDirectories(t *testing.T) {
	rr, dir := fsRuntime(t)
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error {
		return errors.Join(create(fsys, "t/p/0.log", ""), create(fsys, "t/q", ""))
	}))
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return fsys.Remove("t/p/0.log") }))
	assert.NoDirExists(t, filepath.Join(dir, "t/p"))
	assert.DirExists(t, filepath.Join(dir, "t"), "t still holds q")
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return fsys.Remove("t/q") }))
	assert.NoDirExists(t, filepath.Join(dir, "t"))
	assert.DirExists(t, dir, "the root stays")
	var names []string
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) (err error) { names, err = fsys.List(""); return }))
	assert.Empty(t, names)
}

func TestFSRename(t *testing.T) {
	rr, dir := fsRuntime(t)
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join(dir, path))
		require.NoError(t, err)
		return string(b)
	}
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error {
		return errors.Join(create(fsys, "a/x", "one"), create(fsys, "b/old", "two"))
	}))
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return fsys.Rename("a/x", "c/d/y") }))
	assert.Equal(t, "one", read("c/d/y"))
	assert.NoDirExists(t, filepath.Join(dir, "a"), "the emptied source directory goes")

	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return fsys.Rename("c/d/y", "b/old") }))
	assert.Equal(t, "one", read("b/old"), "rename replaces")
	assert.NoDirExists(t, filepath.Join(dir, "c"))

	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return fsys.Rename("b/old", "b/old") }))
	assert.Equal(t, "one", read("b/old"))
}

// TestFSPathsEscapingRootRejected: every operation refuses paths that are
// not plain relative slash paths, and os.Root stops symbolic links out.
func TestFSPathsEscapingRootRejected(t *testing.T) {
	rr, dir := fsRuntime(t)
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link")))
	bad := []string{"", "/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a//b", "a/", "link/x"}
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error { return create(fsys, "src", "") }))
	ops := []struct {
		name string
		op   func(env.FS, string) error
	}{
		{"create", func(fsys env.FS, p string) error { _, err := fsys.Create(p); return err }},
		{"open", func(fsys env.FS, p string) error { _, err := fsys.Open(p); return err }},
		{"remove", func(fsys env.FS, p string) error { return fsys.Remove(p) }},
		{"rename from", func(fsys env.FS, p string) error { return fsys.Rename(p, "ok") }},
		{"rename to", func(fsys env.FS, p string) error { return fsys.Rename("src", p) }},
		{"stat", func(fsys env.FS, p string) error { _, err := fsys.Stat(p); return err }},
	}
	for _, o := range ops {
		for _, p := range bad {
			t.Run(o.name+" "+p, func(t *testing.T) {
				assert.Error(t, onLoop(t, rr, func(fsys env.FS) error { return o.op(fsys, p) }))
			})
		}
	}
	for _, p := range []string{"/", "..", "a/", "../x"} {
		assert.Error(t, onLoop(t, rr, func(fsys env.FS) error { _, err := fsys.List(p); return err }), p)
		var syncErr error
		got := make(chan struct{})
		rr.do(t, func() { rr.Env().FS().SyncDir(p, func(err error) { syncErr = err; close(got) }) })
		<-got
		assert.Error(t, syncErr, p)
	}
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was written outside the root")
	assert.FileExists(t, filepath.Join(dir, "src"), "failed renames left the source alone")
	link, err := os.Lstat(filepath.Join(dir, "link"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, link.Mode().Type(), "failed operations left the link alone")
}

func TestFileReadWrite(t *testing.T) {
	rr, _ := fsRuntime(t)
	type result struct {
		off1, off2 int64
		size       int64
		n          int
		readErr    error
		buf        []byte
		otherSize  int64
		truncSize  int64
		closeTwice error
		afterClose []error
	}
	var res result
	require.NoError(t, onLoop(t, rr, func(fsys env.FS) error {
		f, err := fsys.Create("f")
		if err != nil {
			return err
		}
		res.off1, _ = f.Append([]byte("abc"))
		res.off2, _ = f.Append([]byte("de"))
		if _, err := f.WriteAt([]byte("z"), 8); err != nil {
			return err
		}
		res.size = f.Size()
		res.buf = make([]byte, 12)
		res.n, res.readErr = f.ReadAt(res.buf, 0)
		other, err := fsys.Open("f")
		if err != nil {
			return err
		}
		f.Append([]byte("!"))
		res.otherSize = other.Size()
		if err := other.Truncate(2); err != nil {
			return err
		}
		res.truncSize = f.Size()
		other.Close()
		f.Close()
		res.closeTwice = f.Close()
		_, e1 := f.ReadAt(make([]byte, 1), 0)
		_, e2 := f.WriteAt([]byte("x"), 0)
		_, e3 := f.Append([]byte("x"))
		res.afterClose = []error{e1, e2, e3, f.Truncate(0)}
		return nil
	}))
	assert.Equal(t, int64(0), res.off1)
	assert.Equal(t, int64(3), res.off2)
	assert.Equal(t, int64(9), res.size)
	assert.Equal(t, 9, res.n)
	assert.Equal(t, io.EOF, res.readErr, "a short read returns io.EOF itself")
	assert.Equal(t, []byte("abcde\x00\x00\x00z"), res.buf[:res.n], "WriteAt past the end fills with zeros")
	assert.Equal(t, int64(10), res.otherSize, "handles share the size")
	assert.Equal(t, int64(2), res.truncSize)
	assert.ErrorIs(t, res.closeTwice, env.ErrClosed)
	for i, err := range res.afterClose {
		assert.ErrorIs(t, err, env.ErrClosed, "op %d", i)
	}
}

// TestFSSyncCallbacks: Sync and SyncDir complete later, on the loop, in
// order, including a Sync followed at once by Close.
func TestFSSyncCallbacks(t *testing.T) {
	rr, _ := fsRuntime(t)
	results := make(chan string, 200)
	var inline bool
	rr.do(t, func() {
		fsys := rr.Env().FS()
		f, err := fsys.Create("a/b/c")
		if err != nil {
			results <- "create: " + err.Error()
			return
		}
		done := false
		for i := range 100 {
			f.Append([]byte{byte(i)})
			f.Sync(func(err error) { results <- "sync " + errText(err); done = true })
		}
		f.Close()
		f.Sync(func(err error) { results <- "sync after close " + errText(err) })
		fsys.SyncDir("a/b", func(err error) { results <- "syncdir " + errText(err) })
		fsys.SyncDir("", func(err error) { results <- "syncdir root " + errText(err) })
		fsys.SyncDir("gone/away", func(err error) { results <- "syncdir missing " + errText(err) })
		inline = done
	})
	assert.False(t, inline, "a sync completed inside the call")
	got := map[string]int{}
	for range 104 {
		got[<-results]++
	}
	assert.Equal(t, map[string]int{
		"sync ok": 100,
		"sync after close use of closed connection or file": 1,
		"syncdir ok":         1,
		"syncdir root ok":    1,
		"syncdir missing ok": 1,
	}, got)
	var fresh int
	rr.do(t, func() { fresh = len(rr.fs.fresh) })
	assert.Zero(t, fresh, "SyncDir(a/b) synced the parents of the new directories a and a/b")
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	switch {
	case errors.Is(err, env.ErrClosed):
		return env.ErrClosed.Error()
	}
	return err.Error()
}

// TestFSErrorMapping: OS errors become env's, and stay what they were.
func TestFSErrorMapping(t *testing.T) {
	pathErr := func(errno error) error { return &fs.PathError{Op: "write", Path: "f", Err: errno} }
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"no space", pathErr(syscall.ENOSPC), env.ErrNoSpace},
		{"quota", pathErr(syscall.EDQUOT), env.ErrNoSpace},
		{"i/o", pathErr(syscall.EIO), env.ErrIO},
		{"not exist", pathErr(syscall.ENOENT), env.ErrNotExist},
		{"exist", pathErr(syscall.EEXIST), env.ErrExist},
		{"closed", pathErr(os.ErrClosed), env.ErrClosed},
		{"is a directory", pathErr(syscall.EISDIR), env.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := fsError(tc.err)
			assert.ErrorIs(t, got, tc.want)
			assert.ErrorIs(t, got, tc.err)
			assert.Equal(t, tc.err.Error(), got.Error())
		})
	}
	assert.NoError(t, fsError(nil))
	other := pathErr(syscall.EPERM)
	assert.Equal(t, other, fsError(other))
}
