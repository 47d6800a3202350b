package queue

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gregor-dst/gregor/checker/history"
	"github.com/gregor-dst/gregor/workloads/kclient"
)

// Recorder keeps one run's history. Jepsen's processes are
// single-threaded: a process has at most one call open. A client here has
// many sends in flight, so each call takes an idle logical process of its
// client, and a client that crashes retires its processes (their open
// calls stay open: info), as Jepsen's crashed clients come back under new
// process numbers.
type Recorder struct {
	b       *history.Builder
	now     func() int64
	clients map[string]*client
	next    int
	// ProcessesPerClientMax bounds a client's concurrent calls; a call
	// beyond it is not made (Send reports false).
	ProcessesPerClientMax int
}

type client struct {
	idle []int
	open int
}

// NewRecorder makes a recorder whose op times come from nowNs (the
// simulator's clock).
func NewRecorder(nowNs func() int64) *Recorder {
	return &Recorder{b: history.NewBuilder(), now: nowNs, clients: map[string]*client{}, ProcessesPerClientMax: 256}
}

// process takes an idle process of name, or a new one.
func (r *Recorder) process(name string) (int, bool) {
	c := r.clients[name]
	if c == nil {
		c = &client{}
		r.clients[name] = c
	}
	if n := len(c.idle); n > 0 {
		p := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.open++
		return p, true
	}
	if c.open >= r.ProcessesPerClientMax {
		return 0, false
	}
	p := r.next
	r.next++
	c.open++
	return p, true
}

func (r *Recorder) release(name string, p int, c *client) {
	c.open--
	if r.clients[name] == c { // not retired by a crash meanwhile
		c.idle = append(c.idle, p)
	}
}

func (r *Recorder) stamp() { r.b.SetTimeNs(r.now()) }

// EncodeValue is how a value travels in a record.
func EncodeValue(v int64) []byte { return strconv.AppendInt(nil, v, 10) }

// DecodeValue reads a record's value; ok is false for a record that is
// not the workload's.
func DecodeValue(b []byte) (int64, bool) {
	v, err := strconv.ParseInt(string(b), 10, 64)
	return v, err == nil
}

// Send records the invocation of a send of value to key by client and
// returns the callback that records its outcome; false when the client
// has no process free (the send must not be made). A send that is not
// durable when acknowledged (acks 0 or 1: the leader alone has it) is
// recorded as info on success: Kafka promises nothing more for it.
func (r *Recorder) Send(name string, key history.Key, value int64, durable bool) (func(kclient.ProduceResult), bool) {
	p, ok := r.process(name)
	if !ok {
		return nil, false
	}
	c := r.clients[name]
	r.stamp()
	r.b.Invoke(p, history.Send, history.Sends(history.NewSend(key, value)))
	return func(res kclient.ProduceResult) {
		if r.clients[name] != c {
			return // the client crashed: the call stays open
		}
		r.stamp()
		switch {
		case res.Outcome == kclient.Acked && !durable:
			r.b.Info(p, "acknowledged by the leader alone (acks=1)")
		case res.Outcome == kclient.Acked && res.Offset >= 0:
			r.b.Ok(p, history.Sends(history.AckedSend(key, value, res.Offset)))
		case res.Outcome == kclient.Failed:
			r.b.Fail(p, errText(res.Err))
		default: // ambiguous, or acked without an offset (a duplicate's answer)
			r.b.Info(p, errText(res.Err))
		}
		r.release(name, p, c)
	}, true
}

// Poll records the invocation of a poll of key by client (assign mode)
// and returns the callback that records what the fetch returned; false
// when the client has no process free. final marks the final reads.
func (r *Recorder) Poll(name string, key history.Key, final bool) (func(kclient.FetchResult), bool) {
	p, ok := r.process(name)
	if !ok {
		return nil, false
	}
	c := r.clients[name]
	r.stamp()
	if final {
		r.b.InvokeFinal(p)
	} else {
		r.b.Invoke(p, history.Poll, history.Value{})
	}
	return func(res kclient.FetchResult) {
		if r.clients[name] != c {
			return
		}
		r.stamp()
		if res.Err != nil {
			// A fetch that failed read nothing: Jepsen's failed poll.
			r.b.Fail(p, errText(res.Err))
		} else {
			r.b.Ok(p, history.Polls(polled(key, res)))
		}
		r.release(name, p, c)
	}, true
}

func polled(key history.Key, res kclient.FetchResult) history.Polled {
	pl := history.Polled{Key: key, HighWatermark: res.HighWatermark, HasHighWatermark: res.HighWatermark >= 0}
	for _, rec := range res.Records {
		if v, ok := DecodeValue(rec.Value); ok {
			pl.Records = append(pl.Records, history.Record{Offset: rec.Offset, Value: v})
		}
	}
	return pl
}

// Crash retires client's processes: their open calls stay open, and the
// next incarnation's calls get new processes.
func (r *Recorder) Crash(name string) { delete(r.clients, name) }

// Ops is the history so far.
func (r *Recorder) Ops() []history.Op { return r.b.Ops() }

func errText(err error) string {
	if err == nil {
		return "no offset in the answer"
	}
	var te *kclient.TransportError
	if errors.As(err, &te) {
		return fmt.Sprintf("transport: %v", err)
	}
	return err.Error()
}
