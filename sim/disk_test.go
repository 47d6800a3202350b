package sim

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

// diskRig is one node with a disk; the test drives its FS directly between
// runs, as the node's process would.
type diskRig struct {
	t *testing.T
	w *world
	n *Node
}

// fastSync is a constant 5 ms fsync.
var fastSync = Latency{Min: ms(5), Mean: ms(5)}

func newDiskRig(t *testing.T, seed uint64, opts DiskOptions) *diskRig {
	w := newWorld(t, testOptions(seed))
	r := &diskRig{t: t, w: w, n: w.add("n1", spec{}, opts)}
	w.start(r.n)
	w.run(0)
	return r
}

func (r *diskRig) fs() env.FS { return procOf(r.t, r.n).e.FS() }

// crash crashes the node and starts it again.
func (r *diskRig) crash() {
	r.n.Crash()
	require.NoError(r.t, r.n.Start())
	r.w.run(0)
}

func (r *diskRig) create(path, data string) env.File {
	r.t.Helper()
	f, err := r.fs().Create(path)
	require.NoError(r.t, err)
	if data != "" {
		_, err = f.Append([]byte(data))
		require.NoError(r.t, err)
	}
	return f
}

func (r *diskRig) open(path string) env.File {
	r.t.Helper()
	f, err := r.fs().Open(path)
	require.NoError(r.t, err)
	return f
}

func (r *diskRig) append(f env.File, data string) {
	r.t.Helper()
	_, err := f.Append([]byte(data))
	require.NoError(r.t, err)
}

// sync fsyncs f and waits for the result.
func (r *diskRig) sync(f env.File) error {
	var got error
	done := false
	f.Sync(func(err error) { got, done = err, true })
	r.w.run(time.Second)
	require.True(r.t, done, "sync never completed")
	return got
}

func (r *diskRig) syncDir(dir string) error {
	var got error
	done := false
	r.fs().SyncDir(dir, func(err error) { got, done = err, true })
	r.w.run(time.Second)
	require.True(r.t, done, "sync dir never completed")
	return got
}

// durable creates path with data, fsyncs it and its directory.
func (r *diskRig) durable(path, data string) env.File {
	f := r.create(path, data)
	require.NoError(r.t, r.sync(f))
	require.NoError(r.t, r.syncDir(parentDir(path)))
	return f
}

// files is every file and its content as the page cache shows them.
func (r *diskRig) files() map[string]string {
	out := map[string]string{}
	for _, p := range r.n.Disk().Files() {
		b, err := r.n.Disk().ReadFile(p)
		require.NoError(r.t, err)
		out[p] = string(b)
	}
	return out
}

func TestDiskCrashKeepsOnlyDurableState(t *testing.T) {
	tests := []struct {
		name   string
		ops    func(r *diskRig)
		before map[string]string // what the page cache shows before the crash
		after  map[string]string
	}{
		{
			name: "unsynced write is lost",
			ops: func(r *diskRig) {
				f := r.durable("f", "")
				r.append(f, "abc")
			},
			before: map[string]string{"f": "abc"},
			after:  map[string]string{"f": ""},
		},
		{
			name:   "synced write is kept",
			ops:    func(r *diskRig) { r.durable("f", "abc") },
			before: map[string]string{"f": "abc"},
			after:  map[string]string{"f": "abc"},
		},
		{
			name: "a sync covers the writes before it, not those after its call",
			ops: func(r *diskRig) {
				f := r.durable("f", "")
				r.append(f, "abc")
				var res []error
				f.Sync(func(err error) { res = append(res, err) })
				r.append(f, "def") // while the sync runs
				r.w.run(time.Second)
				require.Equal(r.t, []error{nil}, res)
			},
			before: map[string]string{"f": "abcdef"},
			after:  map[string]string{"f": "abc"},
		},
		{
			name: "a later sync covers what the earlier did not",
			ops: func(r *diskRig) {
				f := r.durable("f", "")
				r.append(f, "abc")
				require.NoError(r.t, r.sync(f))
				r.append(f, "def")
				require.NoError(r.t, r.sync(f))
				r.append(f, "ghi")
			},
			before: map[string]string{"f": "abcdefghi"},
			after:  map[string]string{"f": "abcdef"},
		},
		{
			name: "created and fsynced, directory never synced: gone",
			ops: func(r *diskRig) {
				f := r.create("f", "abc")
				require.NoError(r.t, r.sync(f))
			},
			before: map[string]string{"f": "abc"},
			after:  map[string]string{},
		},
		{
			name: "a subdirectory's entry needs that directory synced",
			ops: func(r *diskRig) {
				f := r.create("d/f", "abc")
				require.NoError(r.t, r.sync(f))
				require.NoError(r.t, r.syncDir(""))
				r.durable("e/g", "xyz")
			},
			before: map[string]string{"d/f": "abc", "e/g": "xyz"},
			after:  map[string]string{"e/g": "xyz"},
		},
		{
			name: "directory synced, file never fsynced: the name survives, empty",
			ops: func(r *diskRig) {
				r.create("f", "abc")
				require.NoError(r.t, r.syncDir(""))
			},
			before: map[string]string{"f": "abc"},
			after:  map[string]string{"f": ""},
		},
		{
			name: "rename without SyncDir is undone",
			ops: func(r *diskRig) {
				r.durable("a", "abc")
				require.NoError(r.t, r.fs().Rename("a", "b"))
			},
			before: map[string]string{"b": "abc"},
			after:  map[string]string{"a": "abc"},
		},
		{
			name: "rename with SyncDir is durable",
			ops: func(r *diskRig) {
				r.durable("a", "abc")
				require.NoError(r.t, r.fs().Rename("a", "b"))
				require.NoError(r.t, r.syncDir(""))
			},
			before: map[string]string{"b": "abc"},
			after:  map[string]string{"b": "abc"},
		},
		{
			name: "rename over an existing file",
			ops: func(r *diskRig) {
				r.durable("a", "new")
				r.durable("b", "old")
				require.NoError(r.t, r.fs().Rename("a", "b"))
				require.NoError(r.t, r.syncDir(""))
			},
			before: map[string]string{"b": "new"},
			after:  map[string]string{"b": "new"},
		},
		{
			name: "rename across directories with only the target synced: both names",
			ops: func(r *diskRig) {
				r.durable("x/a", "abc")
				require.NoError(r.t, r.fs().Rename("x/a", "y/b"))
				require.NoError(r.t, r.syncDir("y"))
			},
			before: map[string]string{"y/b": "abc"},
			after:  map[string]string{"x/a": "abc", "y/b": "abc"},
		},
		{
			name: "remove without SyncDir is undone",
			ops: func(r *diskRig) {
				r.durable("a", "abc")
				require.NoError(r.t, r.fs().Remove("a"))
			},
			before: map[string]string{},
			after:  map[string]string{"a": "abc"},
		},
		{
			name: "remove with SyncDir is durable",
			ops: func(r *diskRig) {
				r.durable("a", "abc")
				r.durable("b", "keep")
				require.NoError(r.t, r.fs().Remove("a"))
				require.NoError(r.t, r.syncDir(""))
			},
			before: map[string]string{"b": "keep"},
			after:  map[string]string{"b": "keep"},
		},
		{
			name: "truncate is durable only once synced",
			ops: func(r *diskRig) {
				f := r.durable("a", "abcdef")
				require.NoError(r.t, f.Truncate(2))
				require.NoError(r.t, r.sync(f))
				g := r.durable("b", "abcdef")
				require.NoError(r.t, g.Truncate(2))
			},
			before: map[string]string{"a": "ab", "b": "ab"},
			after:  map[string]string{"a": "ab", "b": "abcdef"},
		},
		{
			name: "overwrite in place",
			ops: func(r *diskRig) {
				f := r.durable("a", "aaaaaa")
				_, err := f.WriteAt([]byte("XY"), 1)
				require.NoError(r.t, err)
				require.NoError(r.t, r.sync(f))
				_, err = f.WriteAt([]byte("ZZ"), 4)
				require.NoError(r.t, err)
			},
			before: map[string]string{"a": "aXYaZZ"},
			after:  map[string]string{"a": "aXYaaa"},
		},
		{
			name: "a sync in flight at the crash does nothing and never calls back",
			ops: func(r *diskRig) {
				f := r.durable("a", "")
				r.append(f, "abc")
				f.Sync(func(error) { r.t.Error("a crashed incarnation's sync completed") })
				r.fs().SyncDir("", func(error) { r.t.Error("a crashed incarnation's sync dir completed") })
			},
			before: map[string]string{"a": "abc"},
			after:  map[string]string{"a": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDiskRig(t, 1, DiskOptions{SyncLatency: fastSync})
			tt.ops(r)
			require.Equal(t, tt.before, r.files())
			r.crash()
			require.Equal(t, tt.after, r.files())
			r.w.run(time.Second) // nothing of the old incarnation fires
			require.Equal(t, tt.after, r.files())
			// What a crash leaves is durable: a second crash keeps it.
			r.crash()
			require.Equal(t, tt.after, r.files())
			// And the new incarnation sees it through its FS.
			for p, want := range tt.after {
				f := r.open(p)
				require.Equal(t, int64(len(want)), f.Size())
				buf := make([]byte, len(want))
				n, err := f.ReadAt(buf, 0)
				if len(want) > 0 {
					require.NoError(t, err)
				}
				require.Equal(t, want, string(buf[:n]))
			}
		})
	}
}

// With TornWrites a crash keeps the unsynced writes in order up to one
// that is cut short.
func TestDiskTornWrites(t *testing.T) {
	const base = "durable|"
	chunks := []string{"0000000000", "1111111111", "2222222222", "3333333333", "4444444444"}
	full := base + strings.Join(chunks, "")
	recovered := func(seed uint64, torn bool) string {
		r := newDiskRig(t, seed, DiskOptions{SyncLatency: fastSync, TornWrites: torn})
		f := r.durable("log", base)
		r.durable("other", "x")
		for _, c := range chunks {
			r.append(f, c)
		}
		require.Equal(t, full, r.files()["log"])
		r.crash()
		require.Equal(t, "x", r.files()["other"], "a file with nothing pending is untouched")
		return r.files()["log"]
	}
	partial, none, all := 0, 0, 0
	lengths := map[int]bool{}
	for seed := uint64(1); seed <= 40; seed++ {
		got := recovered(seed, true)
		require.True(t, strings.HasPrefix(full, got), "seed %d: %q is not a prefix of the page cache", seed, got)
		require.GreaterOrEqual(t, len(got), len(base), "seed %d: durable bytes lost", seed)
		require.Equal(t, got, recovered(seed, true), "seed %d: not deterministic", seed)
		lengths[len(got)] = true
		switch n := len(got) - len(base); {
		case n == 0:
			none++
		case n == len(full)-len(base):
			all++
		case n%10 != 0:
			partial++
		}
		require.Equal(t, base, recovered(seed, false), "seed %d: without TornWrites nothing unsynced survives", seed)
	}
	require.Greater(t, partial, 0, "no seed tore a write in the middle")
	require.Greater(t, len(lengths), 10, "torn lengths should vary with the seed")
	t.Logf("of 40 seeds: %d kept none, %d all, %d tore a write mid-way", none, all, partial)
}

// A torn truncate did not happen: it is all or nothing.
func TestDiskTornTruncate(t *testing.T) {
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 30; seed++ {
		r := newDiskRig(t, seed, DiskOptions{SyncLatency: fastSync, TornWrites: true})
		f := r.durable("f", "abcdef")
		require.NoError(t, f.Truncate(3))
		r.crash()
		got := r.files()["f"]
		require.Contains(t, []string{"abcdef", "abc"}, got, "seed %d", seed)
		seen[got] = true
	}
	require.Len(t, seen, 2, "both outcomes occur")
}

func TestDiskSyncIsAsynchronous(t *testing.T) {
	tests := []struct {
		name string
		opts DiskOptions
		want Time
	}{
		{"instant", DiskOptions{}, 0},
		{"5ms", DiskOptions{SyncLatency: fastSync}, Time(ms(5))},
		{"slow factor 4", DiskOptions{SyncLatency: fastSync, SlowFactor: 4}, Time(ms(20))},
		{"slow factor 1", DiskOptions{SyncLatency: fastSync, SlowFactor: 1}, Time(ms(5))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDiskRig(t, 1, tt.opts)
			r.w.runUntil(time.Second)
			f := r.create("f", "abc")
			var fileAt, dirAt []Time
			inCall := true
			f.Sync(func(err error) {
				require.NoError(t, err)
				require.False(t, inCall, "the callback ran inside Sync")
				fileAt = append(fileAt, r.w.s.Now()-Time(time.Second))
			})
			r.fs().SyncDir("", func(err error) {
				require.NoError(t, err)
				require.False(t, inCall, "the callback ran inside SyncDir")
				dirAt = append(dirAt, r.w.s.Now()-Time(time.Second))
			})
			inCall = false
			require.Empty(t, fileAt)
			r.w.run(time.Second)
			require.Equal(t, []Time{tt.want}, fileAt)
			require.Equal(t, []Time{tt.want}, dirAt)
		})
	}
}

// Overlapping directory syncs may complete out of order (syncs issued
// at different instants are different device flushes); an older one must
// not undo what a newer one made durable.
func TestDiskSyncDirCompletingOutOfOrder(t *testing.T) {
	r := newDiskRig(t, 1, DiskOptions{SyncLatency: Latency{Min: ms(50), Mean: ms(50)}})
	r.create("a", "")
	var order []string
	r.fs().SyncDir("", func(err error) { require.NoError(t, err); order = append(order, "slow") })
	r.w.run(time.Millisecond)
	r.n.Disk().SetOptions(DiskOptions{SyncLatency: fastSync})
	r.create("b", "")
	r.fs().SyncDir("", func(err error) { require.NoError(t, err); order = append(order, "fast") })
	r.w.run(time.Second)
	require.Equal(t, []string{"fast", "slow"}, order)
	r.crash()
	require.Equal(t, map[string]string{"a": "", "b": ""}, r.files())
}

// Syncs issued at one instant are one device flush: they complete
// together, in the order issued, as one event; a sync issued later is
// another flush.
func TestDiskSyncsAtOneInstantShareAFlush(t *testing.T) {
	r := newDiskRig(t, 1, DiskOptions{SyncLatency: Latency{Min: ms(5), Mean: ms(10)}})
	r.w.runUntil(time.Second)
	a, b := r.create("a", "1"), r.create("b", "2")
	var order []string
	var at []Time
	note := func(name string) func(error) {
		return func(err error) {
			require.NoError(t, err)
			order = append(order, name)
			at = append(at, r.w.s.Now())
		}
	}
	before := r.w.s.Events()
	b.Sync(note("b"))
	a.Sync(note("a"))
	r.fs().SyncDir("", note("dir"))
	r.w.run(time.Second)
	require.Equal(t, []string{"b", "a", "dir"}, order)
	require.Equal(t, at[0], at[1])
	require.Equal(t, at[0], at[2])
	require.Equal(t, uint64(1), r.w.s.Events()-before, "one event for the flush")
	r.crash()
	require.Equal(t, map[string]string{"a": "1", "b": "2"}, r.files())

	// A sync issued after the first flush started is a flush of its own.
	r2 := newDiskRig(t, 1, DiskOptions{SyncLatency: Latency{Min: ms(5), Mean: ms(10)}})
	f := r2.create("f", "x")
	f.Sync(func(error) {})
	r2.w.run(time.Millisecond)
	f.Sync(func(error) {})
	before = r2.w.s.Events()
	r2.w.run(time.Second)
	require.Equal(t, uint64(2), r2.w.s.Events()-before)
}

func TestDiskFileOperations(t *testing.T) {
	r := newDiskRig(t, 1, DiskOptions{SyncLatency: fastSync})
	fs := r.fs()

	// Create, Open, Stat.
	f := r.create("d/f", "hello")
	_, err := fs.Create("d/f")
	require.ErrorIs(t, err, env.ErrExist)
	_, err = fs.Open("d/nope")
	require.ErrorIs(t, err, env.ErrNotExist)
	size, err := fs.Stat("d/f")
	require.NoError(t, err)
	require.Equal(t, int64(5), size)
	_, err = fs.Stat("nope")
	require.ErrorIs(t, err, env.ErrNotExist)
	require.Equal(t, "d/f", f.Path())
	for _, bad := range []string{"", "/abs", "dir/", "a//b", "./a", "a/../b", "."} {
		_, err := fs.Create(bad)
		require.Error(t, err, "%q", bad)
	}

	// ReadAt: full, short at the end, past the end.
	buf := make([]byte, 3)
	n, err := f.ReadAt(buf, 1)
	require.NoError(t, err)
	require.Equal(t, "ell", string(buf[:n]))
	n, err = f.ReadAt(buf, 3)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, "lo", string(buf[:n]))
	n, err = f.ReadAt(buf, 5)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 0, n)
	n, err = f.ReadAt(buf, 100)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 0, n)
	_, err = f.ReadAt(buf, -1)
	require.Error(t, err)

	// WriteAt beyond the end fills the gap with zeros.
	g := r.create("g", "")
	n, err = g.WriteAt([]byte("ab"), 5)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, int64(7), g.Size())
	require.Equal(t, "\x00\x00\x00\x00\x00ab", r.files()["g"])
	off, err := g.Append([]byte("c"))
	require.NoError(t, err)
	require.Equal(t, int64(7), off)
	_, err = g.WriteAt([]byte("x"), -1)
	require.Error(t, err)

	// Truncate shrinks and grows (with zeros).
	require.NoError(t, g.Truncate(6))
	require.Equal(t, "\x00\x00\x00\x00\x00a", r.files()["g"])
	require.NoError(t, g.Truncate(8))
	require.Equal(t, "\x00\x00\x00\x00\x00a\x00\x00", r.files()["g"])
	require.Error(t, g.Truncate(-1))
	require.Equal(t, int64(8), g.Size())

	// The caller's buffer is not retained.
	h := r.create("h", "")
	p := []byte("abc")
	_, err = h.WriteAt(p, 0)
	require.NoError(t, err)
	p[0] = 'X'
	require.Equal(t, "abc", r.files()["h"])

	// List: sorted, subdirectories with a trailing slash.
	r.create("b", "")
	r.create("c/q", "")
	r.create("d/y/z", "")
	r.create("d/a", "")
	root, err := fs.List("")
	require.NoError(t, err)
	require.Equal(t, []string{"b", "c/", "d/", "g", "h"}, root)
	sub, err := fs.List("d")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "f", "y/"}, sub)
	deep, err := fs.List("d/y")
	require.NoError(t, err)
	require.Equal(t, []string{"z"}, deep)
	_, err = fs.List("nope")
	require.ErrorIs(t, err, env.ErrNotExist)
	_, err = fs.List("d/f") // a file is not a directory
	require.ErrorIs(t, err, env.ErrNotExist)

	// Remove and Rename.
	require.NoError(t, fs.Remove("c/q"))
	require.ErrorIs(t, fs.Remove("c/q"), env.ErrNotExist)
	root, err = fs.List("")
	require.NoError(t, err)
	require.Equal(t, []string{"b", "d/", "g", "h"}, root, "an emptied directory is gone")
	require.ErrorIs(t, fs.Rename("nope", "x"), env.ErrNotExist)
	require.NoError(t, fs.Rename("h", "h"))
	require.Equal(t, "abc", r.files()["h"])
	require.NoError(t, fs.Rename("h", "d/y/h2"))
	sub, err = fs.List("d/y")
	require.NoError(t, err)
	require.Equal(t, []string{"h2", "z"}, sub)
	require.Error(t, fs.Rename("b", "bad/"))

	// A removed file's open handle still works.
	require.NoError(t, fs.Remove("d/f"))
	n, err = f.ReadAt(buf, 0)
	require.NoError(t, err)
	require.Equal(t, "hel", string(buf[:n]))
	_, err = f.Append([]byte("!"))
	require.NoError(t, err)
	_, err = fs.Open("d/f")
	require.ErrorIs(t, err, env.ErrNotExist)

	// A closed handle refuses everything.
	require.NoError(t, g.Close())
	require.ErrorIs(t, g.Close(), env.ErrClosed)
	_, err = g.ReadAt(buf, 0)
	require.ErrorIs(t, err, env.ErrClosed)
	_, err = g.WriteAt([]byte("x"), 0)
	require.ErrorIs(t, err, env.ErrClosed)
	_, err = g.Append([]byte("x"))
	require.ErrorIs(t, err, env.ErrClosed)
	require.ErrorIs(t, g.Truncate(0), env.ErrClosed)
	require.ErrorIs(t, r.sync(g), env.ErrClosed)
	// Another handle to the same file still works.
	g2 := r.open("g")
	require.Equal(t, int64(8), g2.Size())
}

func TestDiskFaults(t *testing.T) {
	tests := []struct {
		name string
		opts DiskOptions
		run  func(r *diskRig)
	}{
		{
			name: "read errors",
			opts: DiskOptions{ReadErrorPercent: 100},
			run: func(r *diskRig) {
				f := r.create("f", "abc")
				_, err := f.ReadAt(make([]byte, 3), 0)
				require.ErrorIs(r.t, err, env.ErrIO)
			},
		},
		{
			name: "write errors change nothing",
			opts: DiskOptions{SyncLatency: fastSync},
			run: func(r *diskRig) {
				f := r.durable("f", "abc")
				r.n.Disk().SetOptions(DiskOptions{SyncLatency: fastSync, WriteErrorPercent: 100})
				require.Equal(r.t, 100.0, r.n.Disk().Options().WriteErrorPercent)
				_, err := f.WriteAt([]byte("xyz"), 0)
				require.ErrorIs(r.t, err, env.ErrIO)
				_, err = f.WriteAt([]byte("xyz"), 10)
				require.ErrorIs(r.t, err, env.ErrIO)
				_, err = f.Append([]byte("xyz"))
				require.ErrorIs(r.t, err, env.ErrIO)
				require.ErrorIs(r.t, f.Truncate(1), env.ErrIO)
				_, err = r.fs().Create("g")
				require.ErrorIs(r.t, err, env.ErrIO)
				require.Equal(r.t, map[string]string{"f": "abc"}, r.files())
				require.Equal(r.t, int64(3), f.Size())
				require.Equal(r.t, int64(3), r.n.Disk().UsedBytes())
			},
		},
		{
			name: "sync errors leave data not durable",
			opts: DiskOptions{SyncLatency: fastSync},
			run: func(r *diskRig) {
				f := r.durable("f", "abc")
				r.append(f, "def")
				g := r.create("g", "new")
				r.n.Disk().SetOptions(DiskOptions{SyncLatency: fastSync, SyncErrorPercent: 100})
				require.ErrorIs(r.t, r.sync(f), env.ErrIO)
				require.ErrorIs(r.t, r.sync(g), env.ErrIO)
				require.ErrorIs(r.t, r.syncDir(""), env.ErrIO)
				r.crash()
				require.Equal(r.t, map[string]string{"f": "abc"}, r.files())
			},
		},
		{
			name: "a failed sync's writes are covered by a later good one",
			opts: DiskOptions{SyncLatency: fastSync, SyncErrorPercent: 100},
			run: func(r *diskRig) {
				f := r.create("f", "abc")
				require.ErrorIs(r.t, r.sync(f), env.ErrIO)
				r.n.Disk().SetOptions(DiskOptions{SyncLatency: fastSync})
				require.NoError(r.t, r.sync(f))
				require.NoError(r.t, r.syncDir(""))
				r.crash()
				require.Equal(r.t, map[string]string{"f": "abc"}, r.files())
			},
		},
		{
			name: "capacity",
			opts: DiskOptions{CapacityBytes: 10},
			run: func(r *diskRig) {
				f := r.create("f", "12345678")
				_, err := f.Append([]byte("abc"))
				require.ErrorIs(r.t, err, env.ErrNoSpace)
				_, err = f.WriteAt([]byte("x"), 20)
				require.ErrorIs(r.t, err, env.ErrNoSpace)
				require.ErrorIs(r.t, f.Truncate(11), env.ErrNoSpace)
				require.Equal(r.t, "12345678", r.files()["f"], "nothing written")
				_, err = f.WriteAt([]byte("ab"), 0) // no growth
				require.NoError(r.t, err)
				g := r.create("g", "90") // exactly full
				require.Equal(r.t, int64(10), r.n.Disk().UsedBytes())
				_, err = g.Append([]byte("!"))
				require.ErrorIs(r.t, err, env.ErrNoSpace)
				require.NoError(r.t, r.fs().Remove("f")) // frees 8
				require.Equal(r.t, int64(2), r.n.Disk().UsedBytes())
				r.append(g, "12345678")
				require.NoError(r.t, g.Truncate(4))
				require.Equal(r.t, int64(4), r.n.Disk().UsedBytes())
				h := r.create("h", "")
				r.append(h, "abcdef")
				require.NoError(r.t, r.fs().Rename("h", "g")) // replaces g's 4 bytes
				require.Equal(r.t, int64(6), r.n.Disk().UsedBytes())
				r.crash()
				require.Equal(r.t, int64(0), r.n.Disk().UsedBytes(), "nothing was durable")
			},
		},
		{
			name: "corrupt changes the bytes, cached and durable",
			opts: DiskOptions{SyncLatency: fastSync},
			run: func(r *diskRig) {
				r.durable("f", "abcdefgh")
				require.NoError(r.t, r.n.Disk().Corrupt("f", 2, 3))
				got := r.files()["f"]
				require.Len(r.t, got, 8)
				require.Equal(r.t, "ab", got[:2])
				require.Equal(r.t, "fgh", got[5:])
				for i := 2; i < 5; i++ {
					require.NotEqual(r.t, "abcdefgh"[i], got[i], "byte %d unchanged", i)
				}
				r.crash()
				require.Equal(r.t, got, r.files()["f"], "the platter is corrupt too")
				// Past the end: only what exists changes.
				require.NoError(r.t, r.n.Disk().Corrupt("f", 6, 100))
				require.Len(r.t, r.files()["f"], 8)
				require.Equal(r.t, got[:6], r.files()["f"][:6])
				require.ErrorIs(r.t, r.n.Disk().Corrupt("nope", 0, 1), env.ErrNotExist)
			},
		},
		{
			name: "corrupt reaches a durable file whose name was removed",
			opts: DiskOptions{SyncLatency: fastSync},
			run: func(r *diskRig) {
				r.durable("f", "abcdefgh")
				require.NoError(r.t, r.fs().Remove("f"))
				require.NoError(r.t, r.n.Disk().Corrupt("f", 0, 8))
				r.crash()
				got := r.files()["f"]
				require.Len(r.t, got, 8)
				for i := range 8 {
					require.NotEqual(r.t, "abcdefgh"[i], got[i])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(newDiskRig(t, 1, tt.opts))
		})
	}
}

// Error percentages between 0 and 100 fail about that share.
func TestDiskFaultRates(t *testing.T) {
	r := newDiskRig(t, 3, DiskOptions{})
	f := r.create("f", "x")
	r.n.Disk().SetOptions(DiskOptions{ReadErrorPercent: 25, WriteErrorPercent: 50})
	reads, writes := 0, 0
	for range 2000 {
		if _, err := f.WriteAt([]byte("x"), 0); err != nil {
			require.ErrorIs(t, err, env.ErrIO)
			writes++
		}
		if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
			require.ErrorIs(t, err, env.ErrIO)
			reads++
		}
	}
	require.InDelta(t, 1000, writes, 100)
	require.InDelta(t, 500, reads, 80)
}

func TestDiskStopKeepsThePageCacheACrashDoesNot(t *testing.T) {
	tests := []struct {
		name string
		down func(r *diskRig)
		want map[string]string
	}{
		{
			name: "graceful stop",
			down: func(r *diskRig) { r.n.Stop(); r.w.run(time.Second) },
			want: map[string]string{"durable": "abcdef", "new": "unsynced"},
		},
		{
			name: "stop killed after the timeout",
			down: func(r *diskRig) {
				procOf(r.t, r.n).spec.stop = func(*proc, func()) {}
				r.n.Stop()
				r.w.run(3 * time.Second)
			},
			want: map[string]string{"durable": "abcdef", "new": "unsynced"},
		},
		{
			name: "crash",
			down: func(r *diskRig) { r.n.Crash() },
			want: map[string]string{"durable": "abc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDiskRig(t, 1, DiskOptions{SyncLatency: fastSync, TornWrites: false})
			f := r.durable("durable", "abc")
			r.append(f, "def")
			r.create("new", "unsynced")
			tt.down(r)
			require.Equal(t, Down, r.n.State())
			require.NoError(t, r.n.Start())
			r.w.run(0)
			require.Equal(t, tt.want, r.files())
			// The restarted process reads the same through its own FS.
			for p, want := range tt.want {
				buf := make([]byte, len(want))
				_, err := r.open(p).ReadAt(buf, 0)
				require.NoError(t, err)
				require.Equal(t, want, string(buf))
			}
		})
	}
}
