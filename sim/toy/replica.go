package toy

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// Config is shared by every replica of a toy cluster.
type Config struct {
	Port          int
	Peers         []string // host names; Peers[0] is the primary
	Heartbeat     time.Duration
	SilenceMax    time.Duration // a backup reports the primary silent after this
	SkewMax       time.Duration // a backup reports skew past this
	SyncInterval  time.Duration // backups fsync this often
	RetryInterval time.Duration // reconnects and I/O retries
	EntriesMax    int           // bound on the log; puts past it are refused
}

// DefaultConfig returns a config for the given peers.
func DefaultConfig(peers ...string) Config {
	return Config{
		Port: 7000, Peers: peers,
		Heartbeat: 200 * time.Millisecond, SilenceMax: time.Second, SkewMax: 100 * time.Millisecond,
		SyncInterval: time.Second, RetryInterval: 500 * time.Millisecond, EntriesMax: 1 << 16,
	}
}

const logFile = "toy/log"

type entry struct {
	seq    int
	wallMs int64
	value  string
}

// line is the entry's form in the log file: its fields and a CRC32C over
// them, so recovery can tell a corrupt line from a good one.
func (e entry) line() string {
	body := fmt.Sprintf("%d %d %s", e.seq, e.wallMs, e.value)
	return fmt.Sprintf("%s %08x\n", body, crc32.Checksum([]byte(body), castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Replica is one toy node. A fresh Replica serves each incarnation.
type Replica struct {
	cfg     Config
	env     env.Env
	log     *slog.Logger
	file    env.File
	entries []entry // entries[i].seq == i+1
	durable int     // entries synced to this node's disk
	primary bool
	ready   bool // recovered; serving

	// primary side
	backups   []*backupLink // index i serves cfg.Peers[i+1]
	committed int
	queue     []string // puts waiting for recovery
	syncing   bool

	// backup side
	up        env.Conn // connection from the primary
	heardMono time.Duration
	silent    bool
	skewed    bool
	skewSeen  time.Duration // the skew last reported
	syncArmed bool
}

type backupLink struct {
	name  string
	conn  env.Conn
	open  bool
	acked int
	sent  int
}

// New returns a Replica factory for cfg.
func New(cfg Config) func() env.Process {
	return func() env.Process { return &Replica{cfg: cfg} }
}

// Entries is the replica's log as values, for tests.
func (r *Replica) Entries() []string {
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.value
	}
	return out
}

// Committed is the primary's commit index.
func (r *Replica) Committed() int { return r.committed }

// Start recovers the log, then serves.
func (r *Replica) Start(e env.Env) {
	r.env, r.log = e, e.Log()
	r.primary = e.Name() == r.cfg.Peers[0]
	r.recover()
}

// Stop closes connections and syncs, then reports done.
func (r *Replica) Stop(done func()) {
	r.log.Info("stopping")
	if r.up != nil {
		r.up.Close()
	}
	for _, b := range r.backups {
		if b.conn != nil {
			b.conn.Close()
		}
	}
	if r.file == nil {
		done()
		return
	}
	r.file.Sync(func(err error) {
		if err != nil {
			r.log.Warn("final sync failed", "err", err)
		}
		done()
	})
}

// Put appends a value (primary only).
func (r *Replica) Put(value string) {
	switch {
	case !r.primary:
		r.log.Info("put refused: not the primary", "value", value)
	case !r.ready:
		r.queue = append(r.queue, value)
	case len(r.entries) >= r.cfg.EntriesMax:
		r.log.Warn("put refused: log full", "value", value)
	default:
		r.append(entry{seq: len(r.entries) + 1, wallMs: r.env.Clock().Now().UnixMilli(), value: value})
	}
}

// ---- recovery ----

func (r *Replica) recover() {
	fs := r.env.FS()
	f, err := fs.Open(logFile)
	if errors.Is(err, env.ErrNotExist) {
		f, err = fs.Create(logFile)
		if err == nil {
			fs.SyncDir("toy", func(error) {})
		}
	}
	if err != nil {
		r.retry("open log", err, r.recover)
		return
	}
	data := make([]byte, f.Size())
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		r.retry("read log", err, r.recover)
		return
	}
	entries, good := parseLog(data)
	if good < len(data) {
		r.log.Info("truncated torn tail", "at", good, "dropped", len(data)-good)
		if err := f.Truncate(int64(good)); err != nil {
			r.retry("truncate log", err, r.recover)
			return
		}
	}
	r.file, r.entries, r.durable = f, entries, len(entries)
	r.ready = true
	r.log.Info("recovered", "entries", len(entries))
	r.serve()
}

// parseLog reads entries up to the first malformed or out-of-order line and
// returns them with the length of the good prefix.
func parseLog(data []byte) ([]entry, int) {
	var out []entry
	good := 0
	for good < len(data) {
		nl := bytes.IndexByte(data[good:], '\n')
		if nl < 0 {
			break
		}
		e, ok := parseLine(string(data[good:good+nl]), len(out)+1)
		if !ok {
			break
		}
		out = append(out, e)
		good += nl + 1
	}
	return out, good
}

// parseLine checks a log line's CRC, then parses its entry.
func parseLine(line string, seqWant int) (entry, bool) {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return entry{}, false
	}
	body := line[:i]
	crc, err := strconv.ParseUint(line[i+1:], 16, 32)
	if err != nil || uint32(crc) != crc32.Checksum([]byte(body), castagnoli) {
		return entry{}, false
	}
	return parseEntry(body, seqWant)
}

// parseEntry parses "seq ms value", the form of an entry in a frame.
func parseEntry(line string, seqWant int) (entry, bool) {
	f := strings.SplitN(line, " ", 3)
	if len(f) != 3 {
		return entry{}, false
	}
	seq, err1 := strconv.Atoi(f[0])
	ms, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || seq != seqWant || !printable(f[2]) {
		return entry{}, false
	}
	return entry{seq: seq, wallMs: ms, value: f[2]}, true
}

func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return s != ""
}

func (r *Replica) retry(what string, err error, f func()) {
	r.log.Warn(what+" failed; retrying", "err", err)
	r.env.Clock().AfterFunc(r.cfg.RetryInterval, f)
}

func (r *Replica) serve() {
	if _, err := r.env.Net().Listen(r.cfg.Port, r.accept); err != nil {
		r.log.Error("listen failed", "err", err)
		return
	}
	if !r.primary {
		r.heardMono = r.env.Clock().Mono()
		r.watchPrimary()
		return
	}
	r.committed = 0
	for _, p := range r.cfg.Peers[1:] {
		b := &backupLink{name: p}
		r.backups = append(r.backups, b)
		r.dial(b)
	}
	r.heartbeat()
	q := r.queue
	r.queue = nil
	for _, v := range q {
		r.Put(v)
	}
}
