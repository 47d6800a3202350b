package toy

import (
	"strconv"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// accept serves a connection from the primary (backups) or refuses one
// (the primary takes no connections).
func (r *Replica) accept(c env.Conn) env.Handler {
	return handler{
		opened: func(c env.Conn) {
			if r.primary {
				c.Close()
				return
			}
			if r.up != nil {
				r.up.Close() // a newer connection replaces a stale one
			}
			r.up = c
			r.heardMono = r.env.Clock().Mono()
			r.log.Info("primary connected", "has", len(r.entries))
			send(c, "hello %d", len(r.entries))
		},
		received: func(c env.Conn, frame []byte) {
			if c == r.up {
				r.fromPrimary(c, frame)
			}
		},
		closed: func(c env.Conn, err error) {
			if c == r.up {
				r.up = nil
				r.log.Info("lost primary", "err", errText(err))
			}
		},
	}
}

func (r *Replica) fromPrimary(c env.Conn, frame []byte) {
	r.heardMono = r.env.Clock().Mono()
	if r.silent {
		r.silent = false
		r.log.Info("primary heard again")
	}
	f := strings.SplitN(string(frame), " ", 4)
	switch {
	case f[0] == "hb" && len(f) == 2:
		r.checkSkew(f[1])
	case f[0] == "entry" && len(f) == 4:
		r.receiveEntry(c, f[1:])
	default:
		r.log.Warn("bad frame from primary", "frame", string(frame))
		c.Close()
	}
}

func (r *Replica) receiveEntry(c env.Conn, f []string) {
	e, ok := parseEntry(strings.Join(f, " "), len(r.entries)+1)
	switch {
	case ok:
		if _, err := r.file.Append([]byte(e.line())); err != nil {
			r.log.Warn("append failed; reconnecting", "seq", e.seq, "err", err)
			c.Close()
			return
		}
		r.entries = append(r.entries, e)
		send(c, "ack %d", e.seq)
		r.armSync()
	default:
		seq, err := strconv.Atoi(f[0])
		if err == nil && seq <= len(r.entries) {
			send(c, "ack %d", seq) // a resend of what we hold
			return
		}
		r.log.Warn("entry out of order; reconnecting", "seq", f[0], "have", len(r.entries))
		c.Close()
	}
}

// armSync schedules the lazy fsync that makes acked entries durable.
func (r *Replica) armSync() {
	if r.syncArmed {
		return
	}
	r.syncArmed = true
	r.env.Clock().AfterFunc(r.cfg.SyncInterval, func() {
		target := len(r.entries)
		r.file.Sync(func(err error) {
			r.syncArmed = false
			if err != nil {
				r.log.Warn("sync failed", "err", err)
				r.armSync()
				return
			}
			r.durable = max(r.durable, target)
			r.log.Debug("synced", "through", target)
		})
	})
}

func (r *Replica) checkSkew(msText string) {
	ms, err := strconv.ParseInt(msText, 10, 64)
	if err != nil {
		return
	}
	skew := time.Duration(r.env.Clock().Now().UnixMilli()-ms) * time.Millisecond
	far := skew > r.cfg.SkewMax || skew < -r.cfg.SkewMax
	moved := skew-r.skewSeen > r.cfg.SkewMax || r.skewSeen-skew > r.cfg.SkewMax
	switch {
	case far && (moved || !r.skewed):
		r.log.Info("clock skew against the primary", "skew", skew)
	case !far && r.skewed:
		r.log.Info("clock skew gone")
	default:
		return
	}
	r.skewed, r.skewSeen = far, skew
}

// watchPrimary reports when the primary has been silent too long.
func (r *Replica) watchPrimary() {
	quiet := r.env.Clock().Mono() - r.heardMono
	if quiet > r.cfg.SilenceMax && !r.silent {
		r.silent = true
		r.log.Info("primary silent", "for", quiet.Round(time.Millisecond))
	}
	r.env.Clock().AfterFunc(r.cfg.Heartbeat, r.watchPrimary)
}
