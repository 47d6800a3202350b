package sim

import (
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// DiskOptions shape a node's disk. The zero value is a fast, faultless,
// unbounded disk.
type DiskOptions struct {
	// SyncLatency is how long an fsync (file or directory) takes.
	SyncLatency Latency
	// CapacityBytes bounds the bytes stored (0: unbounded); writes past it
	// fail with env.ErrNoSpace.
	CapacityBytes int64
	// TornWrites: on a crash, unsynced writes reach the platter in order
	// until one is cut short, rather than all being lost.
	TornWrites bool
	// ReadErrorPercent, WriteErrorPercent and SyncErrorPercent make that
	// share of operations fail with env.ErrIO.
	ReadErrorPercent  float64
	WriteErrorPercent float64
	SyncErrorPercent  float64
	// SlowFactor multiplies every sync latency (a slow disk); 0 means 1.
	SlowFactor int64
}

// Disk is a node's in-memory file system. It survives the node's crashes:
// a crash keeps only durable state. It implements env.FS for the node's
// current incarnation.
//
// Model: every file is an inode with two contents, the page cache (what
// reads see) and the durable bytes, plus the unsynced operations that lead
// from one to the other. Names live in two namespaces the same way: the
// cached one and the durable one, which catches up on SyncDir.
type Disk struct {
	node    *Node
	opts    DiskOptions
	rng     *rand.Rand
	cached  map[string]*inode
	durable map[string]*inode
	inoNext uint64
	used    int64
	// dirSyncs numbers SyncDir calls; dirSynced is, per directory, the
	// number of the call whose snapshot the durable namespace holds. Syncs
	// may complete out of order, and an older snapshot must not undo a
	// newer one.
	dirSyncs  uint64
	dirSynced map[string]uint64
	// batch is the device flush that syncs issued at its instant join.
	batch *syncBatch
}

// syncBatch is one device flush: every fsync (of files or directories)
// an incarnation issues at one instant completes together, after one
// latency, in one event, in the order issued. A journaling file system
// commits concurrent fsyncs in one transaction the same way; for the
// simulation it means a flush of several files costs one event.
type syncBatch struct {
	start Time
	inc   uint64
	fns   []func()
	ran   bool
}

type inode struct {
	ino     uint64
	data    []byte // page cache
	durable []byte
	pending []diskOp // unsynced, oldest first
	opSeq   uint64
	// linked: a name in the cached namespace refers to it. Space is counted
	// for linked inodes only; a removed file still open cannot be reached
	// by name, and a crash forgets it.
	linked bool
}

type diskOp struct {
	seq      uint64
	truncate bool
	off      int64 // write offset, or new size for a truncate
	data     []byte
}

func newDisk(n *Node, opts DiskOptions, rng *rand.Rand) *Disk {
	return &Disk{
		node: n, opts: opts, rng: rng,
		cached: map[string]*inode{}, durable: map[string]*inode{}, dirSynced: map[string]uint64{},
	}
}

// Options returns the disk's current options.
func (d *Disk) Options() DiskOptions { return d.opts }

// SetOptions changes faults and latency from now on (a fault injection).
func (d *Disk) SetOptions(o DiskOptions) { d.opts = o }

// UsedBytes is the total size of the files as the page cache sees them.
func (d *Disk) UsedBytes() int64 { return d.used }

// crash drops the page cache: each surviving file keeps its durable bytes
// (and with TornWrites a prefix of its unsynced writes); names revert to
// the durable namespace. Inodes are visited in number order because the
// torn-write draws must not depend on map order.
func (d *Disk) crash() {
	if assert.Enabled {
		d.checkUsed()
	}
	inos := map[*inode]bool{}
	for _, ino := range d.durable { //gregor:unordered-ok collected into a set, sorted below
		inos[ino] = true
	}
	list := slices.SortedFunc(maps.Keys(inos), func(a, b *inode) int { return cmpU64(a.ino, b.ino) })
	d.used = 0
	for _, ino := range list {
		d.recover(ino)
		ino.linked = true
		d.used += int64(len(ino.data))
	}
	d.cached = maps.Clone(d.durable)
	if assert.Enabled {
		d.checkUsed()
	}
}

// checkUsed recomputes the space in use from the namespace and compares it
// with the running count the writes keep.
func (d *Disk) checkUsed() {
	seen := map[*inode]bool{}
	var used int64
	for _, ino := range d.cached { //gregor:unordered-ok a sum; order cannot matter
		if !seen[ino] {
			seen[ino] = true
			used += int64(len(ino.data))
		}
	}
	assert.Thatf(used == d.used, "disk %s: %d bytes in files, %d counted", d.node.name, used, d.used)
}

func (d *Disk) recover(ino *inode) {
	data := slices.Clone(ino.durable)
	if d.opts.TornWrites && len(ino.pending) > 0 {
		survive := d.rng.IntN(len(ino.pending) + 1)
		for _, op := range ino.pending[:survive] {
			data = applyOp(data, op)
		}
		if survive < len(ino.pending) {
			data = applyOp(data, tornPrefix(ino.pending[survive], d.rng))
		}
	}
	ino.data, ino.durable, ino.pending = data, slices.Clone(data), nil
}

// tornPrefix keeps a random prefix of a write; a truncate is all or
// nothing, so a torn one did not happen.
func tornPrefix(op diskOp, rng *rand.Rand) diskOp {
	if op.truncate {
		return diskOp{truncate: true, off: -1}
	}
	op.data = op.data[:rng.IntN(len(op.data)+1)]
	return op
}

func applyOp(data []byte, op diskOp) []byte {
	if op.truncate {
		if op.off < 0 {
			return data
		}
		return resize(data, op.off)
	}
	end := op.off + int64(len(op.data))
	if end > int64(len(data)) {
		data = resize(data, end)
	}
	copy(data[op.off:], op.data)
	return data
}

func resize(b []byte, size int64) []byte {
	if size <= int64(len(b)) {
		return b[:size]
	}
	return append(b, make([]byte, size-int64(len(b)))...)
}

// Corrupt overwrites n bytes at off of a stored file, in the page cache and
// on the platter alike (bit rot, a misdirected write).
func (d *Disk) Corrupt(path string, off, n int64) error {
	ino, ok := d.cached[path]
	if !ok {
		ino, ok = d.durable[path]
	}
	if !ok {
		return fmt.Errorf("corrupt %s: %w", path, env.ErrNotExist)
	}
	// One garbage mask for both copies: a reread after a crash must find
	// the same damage the page cache showed.
	for i := off; i < off+n && i < int64(max(len(ino.data), len(ino.durable))); i++ {
		mask := byte(1 + d.rng.IntN(255))
		for _, b := range [][]byte{ino.data, ino.durable} {
			if i < int64(len(b)) {
				b[i] ^= mask
			}
		}
	}
	return nil
}

// Files lists every name in the cached namespace, sorted, for tests and
// dumps.
func (d *Disk) Files() []string { return slices.Sorted(maps.Keys(d.cached)) }

// ReadFile returns a copy of a file as the page cache sees it.
func (d *Disk) ReadFile(path string) ([]byte, error) {
	ino, ok := d.cached[path]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", path, env.ErrNotExist)
	}
	return slices.Clone(ino.data), nil
}

func (d *Disk) fault(percent float64) bool {
	return percent > 0 && d.rng.Float64()*100 < percent
}

func (d *Disk) syncDelay() Time {
	f := max(d.opts.SlowFactor, 1)
	return d.opts.SyncLatency.sample(d.rng) * Time(f)
}

// syncLater runs fn when a device flush started now by incarnation inc
// completes: the running one if it started at this instant, else a new
// one traced as rec.
func (d *Disk) syncLater(inc uint64, rec Record, fn func()) {
	sched := d.node.sim.sched
	if b := d.batch; b != nil && !b.ran && b.start == sched.now && b.inc == inc {
		b.fns = append(b.fns, fn)
		return
	}
	b := &syncBatch{start: sched.now, inc: inc, fns: []func(){fn}}
	d.batch = b
	sched.scheduleFor(sched.now+d.syncDelay(), rec, &d.node.gate, inc, nil, func() {
		b.ran = true
		if d.batch == b {
			d.batch = nil
		}
		for _, f := range b.fns {
			f()
		}
	})
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- env.FS for one incarnation ----

// diskFS is the env.FS an incarnation sees. It holds the incarnation so
// that callbacks of a crashed incarnation never run.
type diskFS struct {
	d   *Disk
	inc uint64
}

var _ env.FS = diskFS{}

func validPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("invalid path %q", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid path %q", p)
		}
	}
	return nil
}

func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func (fs diskFS) Create(path string) (env.File, error) {
	d := fs.d
	if err := validPath(path); err != nil {
		return nil, err
	}
	if _, ok := d.cached[path]; ok {
		return nil, fmt.Errorf("create %s: %w", path, env.ErrExist)
	}
	if d.fault(d.opts.WriteErrorPercent) {
		return nil, fmt.Errorf("create %s: %w", path, env.ErrIO)
	}
	d.inoNext++
	ino := &inode{ino: d.inoNext, linked: true}
	d.cached[path] = ino
	return &diskFile{d: d, inc: fs.inc, ino: ino, path: path}, nil
}

func (fs diskFS) Open(path string) (env.File, error) {
	ino, ok := fs.d.cached[path]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", path, env.ErrNotExist)
	}
	return &diskFile{d: fs.d, inc: fs.inc, ino: ino, path: path}, nil
}

func (fs diskFS) Remove(path string) error {
	d := fs.d
	ino, ok := d.cached[path]
	if !ok {
		return fmt.Errorf("remove %s: %w", path, env.ErrNotExist)
	}
	delete(d.cached, path)
	d.used -= int64(len(ino.data))
	ino.linked = false
	return nil
}

func (fs diskFS) Rename(oldPath, newPath string) error {
	d := fs.d
	if err := validPath(newPath); err != nil {
		return err
	}
	ino, ok := d.cached[oldPath]
	if !ok {
		return fmt.Errorf("rename %s: %w", oldPath, env.ErrNotExist)
	}
	if oldPath == newPath {
		return nil
	}
	if old, ok := d.cached[newPath]; ok {
		d.used -= int64(len(old.data))
		old.linked = false
	}
	d.cached[newPath] = ino
	delete(d.cached, oldPath)
	return nil
}

func (fs diskFS) List(dir string) ([]string, error) {
	prefix := dir
	if prefix != "" {
		prefix += "/"
	}
	seen := map[string]bool{}
	for name := range fs.d.cached { //gregor:unordered-ok collected into a set, sorted below
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		seen[rest] = true
	}
	if len(seen) == 0 && dir != "" {
		return nil, fmt.Errorf("list %s: %w", dir, env.ErrNotExist)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

func (fs diskFS) Stat(path string) (int64, error) {
	ino, ok := fs.d.cached[path]
	if !ok {
		return 0, fmt.Errorf("stat %s: %w", path, env.ErrNotExist)
	}
	return int64(len(ino.data)), nil
}

// SyncDir makes the entries of dir durable as they are now.
func (fs diskFS) SyncDir(dir string, done func(error)) {
	d := fs.d
	snap := map[string]*inode{}
	for name, ino := range d.cached { //gregor:unordered-ok builds a map; order cannot matter
		if parentDir(name) == dir {
			snap[name] = ino
		}
	}
	failed := d.fault(d.opts.SyncErrorPercent)
	d.dirSyncs++
	gen := d.dirSyncs
	rec := Record{Kind: KindSync, Node: d.node.index, B: boolU64(failed)}
	d.syncLater(fs.inc, rec, func() {
		if failed {
			done(fmt.Errorf("sync dir %q: %w", dir, env.ErrIO))
			return
		}
		if gen < d.dirSynced[dir] {
			done(nil) // a later SyncDir of dir completed first and covers this one
			return
		}
		d.dirSynced[dir] = gen
		for name := range d.durable { //gregor:unordered-ok deletes only; order cannot matter
			if parentDir(name) == dir {
				delete(d.durable, name)
			}
		}
		maps.Copy(d.durable, snap)
		done(nil)
	})
}

func boolU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// diskFile is an open handle.
type diskFile struct {
	d      *Disk
	inc    uint64 // the incarnation that opened it
	ino    *inode
	path   string
	closed bool
}

var _ env.File = (*diskFile)(nil)

func (f *diskFile) Path() string { return f.path }
func (f *diskFile) Size() int64  { return int64(len(f.ino.data)) }

func (f *diskFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, fmt.Errorf("read %s: %w", f.path, env.ErrClosed)
	}
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", f.path, off)
	}
	if f.d.fault(f.d.opts.ReadErrorPercent) {
		return 0, fmt.Errorf("read %s at %d: %w", f.path, off, env.ErrIO)
	}
	data := f.ino.data
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *diskFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.checkWrite(off, int64(len(p))); err != nil {
		return 0, err
	}
	f.apply(diskOp{off: off, data: slices.Clone(p)})
	return len(p), nil
}

func (f *diskFile) Append(p []byte) (int64, error) {
	off := int64(len(f.ino.data))
	_, err := f.WriteAt(p, off)
	return off, err
}

func (f *diskFile) Truncate(size int64) error {
	if size < 0 {
		return fmt.Errorf("truncate %s: negative size %d", f.path, size)
	}
	if err := f.checkWrite(size, 0); err != nil {
		return err
	}
	f.apply(diskOp{truncate: true, off: size})
	return nil
}

// checkWrite fails a write that would run the disk out of space, or that a
// fault fails, before anything changes.
func (f *diskFile) checkWrite(off, n int64) error {
	d := f.d
	if f.closed {
		return fmt.Errorf("write %s: %w", f.path, env.ErrClosed)
	}
	if off < 0 {
		return fmt.Errorf("write %s: negative offset %d", f.path, off)
	}
	growth := max(off+n-int64(len(f.ino.data)), 0)
	if d.opts.CapacityBytes > 0 && d.used+growth > d.opts.CapacityBytes {
		return fmt.Errorf("write %s: %w", f.path, env.ErrNoSpace)
	}
	if d.fault(d.opts.WriteErrorPercent) {
		return fmt.Errorf("write %s at %d: %w", f.path, off, env.ErrIO)
	}
	return nil
}

func (f *diskFile) apply(op diskOp) {
	ino := f.ino
	before := int64(len(ino.data))
	ino.opSeq++
	op.seq = ino.opSeq
	ino.data = applyOp(ino.data, op)
	ino.pending = append(ino.pending, op)
	if ino.linked {
		f.d.used += int64(len(ino.data)) - before
	}
}

// Sync makes the writes issued so far durable after the sync latency.
func (f *diskFile) Sync(done func(error)) {
	d, ino := f.d, f.ino
	target := ino.opSeq
	closed := f.closed
	failed := closed || d.fault(d.opts.SyncErrorPercent)
	rec := Record{Kind: KindSync, Node: d.node.index, A: ino.ino, B: boolU64(failed)}
	d.syncLater(f.inc, rec, func() {
		switch {
		case closed:
			done(fmt.Errorf("sync %s: %w", f.path, env.ErrClosed))
			return
		case failed:
			done(fmt.Errorf("sync %s: %w", f.path, env.ErrIO))
			return
		}
		i := 0
		for ; i < len(ino.pending) && ino.pending[i].seq <= target; i++ {
			ino.durable = applyOp(ino.durable, ino.pending[i])
		}
		ino.pending = slices.Delete(ino.pending, 0, i)
		done(nil)
	})
}

func (f *diskFile) Close() error {
	if f.closed {
		return fmt.Errorf("close %s: %w", f.path, env.ErrClosed)
	}
	f.closed = true
	return nil
}
