package toy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gregor-dst/gregor/env"
)

// handler adapts three funcs to env.Handler.
type handler struct {
	opened   func(env.Conn)
	received func(env.Conn, []byte)
	closed   func(env.Conn, error)
}

func (h handler) Opened(c env.Conn)                 { h.opened(c) }
func (h handler) Received(c env.Conn, frame []byte) { h.received(c, frame) }
func (h handler) Closed(c env.Conn, err error)      { h.closed(c, err) }

func send(c env.Conn, format string, args ...any) {
	// A failed send means the connection is closing; Closed will follow.
	_ = c.Send([]byte(fmt.Sprintf(format, args...)))
}

// append writes an entry on the primary; it is replicated once synced.
func (r *Replica) append(e entry) {
	if _, err := r.file.Append([]byte(e.line())); err != nil {
		r.log.Warn("put failed", "value", e.value, "err", err)
		return
	}
	r.entries = append(r.entries, e)
	r.syncPrimary()
}

// syncPrimary keeps one fsync in flight; when it lands, what it covered is
// replicated and the next one starts if more was appended meanwhile.
func (r *Replica) syncPrimary() {
	if r.syncing || r.durable == len(r.entries) {
		return
	}
	r.syncing = true
	target := len(r.entries)
	r.file.Sync(func(err error) {
		r.syncing = false
		if err != nil {
			r.retry("sync", err, r.syncPrimary)
			return
		}
		r.durable = max(r.durable, target)
		r.replicate()
		r.advanceCommit()
		r.syncPrimary()
	})
}

func (r *Replica) replicate() {
	for _, b := range r.backups {
		if !b.open {
			continue
		}
		for ; b.sent < r.durable; b.sent++ {
			e := r.entries[b.sent]
			send(b.conn, "entry %d %d %s", e.seq, e.wallMs, e.value)
		}
	}
}

// advanceCommit moves the commit index to what a majority holds.
func (r *Replica) advanceCommit() {
	held := []int{r.durable}
	for _, b := range r.backups {
		held = append(held, b.acked)
	}
	slices.Sort(held)
	// The majority-th highest value is held by a majority.
	c := held[len(held)-(len(held)/2+1)]
	if c > r.committed {
		r.committed = c
		r.log.Info("committed", "through", c)
	}
}

func (r *Replica) dial(b *backupLink) {
	addr := b.name + ":" + strconv.Itoa(r.cfg.Port)
	b.conn = r.env.Net().Dial(addr, handler{
		opened: func(c env.Conn) {
			b.open = true
			r.log.Info("connected", "backup", b.name)
		},
		received: func(c env.Conn, frame []byte) { r.fromBackup(b, frame) },
		closed: func(c env.Conn, err error) {
			if b.open {
				r.log.Info("lost backup", "backup", b.name, "err", errText(err))
			}
			b.open, b.conn, b.sent = false, nil, 0
			r.env.Clock().AfterFunc(r.cfg.RetryInterval, func() { r.dial(b) })
		},
	})
}

func (r *Replica) fromBackup(b *backupLink, frame []byte) {
	kind, arg, _ := strings.Cut(string(frame), " ")
	n, err := strconv.Atoi(arg)
	if err != nil {
		r.log.Warn("bad frame from backup", "backup", b.name, "frame", string(frame))
		b.conn.Close()
		return
	}
	switch kind {
	case "hello":
		if n > len(r.entries) {
			r.log.Warn("backup is ahead of the primary", "backup", b.name, "has", n, "primary", len(r.entries))
		}
		b.sent = min(n, r.durable)
		b.acked = b.sent
		r.replicate()
	case "ack":
		b.acked = max(b.acked, n)
	}
	r.advanceCommit()
}

func (r *Replica) heartbeat() {
	ms := r.env.Clock().Now().UnixMilli()
	for _, b := range r.backups {
		if b.open {
			send(b.conn, "hb %d", ms)
		}
	}
	r.env.Clock().AfterFunc(r.cfg.Heartbeat, r.heartbeat)
}

func errText(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}
