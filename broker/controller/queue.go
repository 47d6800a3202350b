package controller

import (
	"errors"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/broker/quorum"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Operations are decided one after another against a working copy of
// the image that holds every earlier operation's records, and written as
// one metadata entry per batch. Only one batch is in flight: the next is
// decided once the previous one is applied (or failed), on a fresh copy
// of the applied image, so every decision sees every record written
// before it, and a batch whose fate is unknown leaves no decision behind
// it resting on it.
//
// An operation's answer waits for its batch: even one that writes
// nothing may have read what an earlier operation of the batch wrote.

// op is one queued operation.
type op struct {
	// run decides against w.im, writing records through w.emit, and
	// returns what answers once the records are committed and applied
	// (offset: the entry's, or the applied image's when the batch wrote
	// nothing). run may be called again for the same op, on a fresh
	// copy, when its batch is rebuilt (see pump): it changes nothing but
	// w.
	run func(w *work) (answer func(offset int64))
	// reject answers without the operation's effect: this node is not
	// (or no longer) the active controller, the queue is full, or the
	// batch's fate is unknown.
	reject func(rejection)
}

// rejection is the error an operation is refused with.
type rejection struct {
	err *kerr.Error
	msg string
}

var (
	errNotController = rejection{kerr.NotController, ""}
	errQueueFull     = rejection{kerr.RequestTimedOut, "The controller's queue is full."}
	errTooLarge      = rejection{kerr.PolicyViolation, "Unable to perform excessively large batch operation."}
	errNotWritten    = rejection{kerr.RequestTimedOut, "The metadata log could not be written."}
)

// work is a batch being decided: a copy of the applied image and the
// records written to it so far.
type work struct {
	c    *Controller
	im   *meta.Image
	recs []meta.Record
}

// emit applies records to the working image and adds them to the batch.
// The decisions are computed on the same image, so a record it refuses
// is a bug in a decision.
func (w *work) emit(recs ...meta.Record) {
	for _, r := range recs {
		err := w.im.Apply(r)
		assert.Thatf(err == nil, "controller: a decision's record does not apply: %v", err)
		if err == nil {
			w.recs = append(w.recs, r)
		}
	}
}

// batch is a proposal in flight: its ops' answers, in order.
type batch struct {
	ops     []*op
	answers []func(int64)
}

// enqueue adds o, or refuses it when the queue is full, and serves the
// queue.
func (c *Controller) enqueue(o *op) {
	if len(c.queue) >= c.cfg.OpsQueuedMax {
		o.reject(errQueueFull)
		return
	}
	c.queue = append(c.queue, o)
	c.pump()
}

// pump decides the next batch and proposes it, while this node is active
// and nothing is in flight. A batch that writes nothing is answered at
// once, and the next one follows.
func (c *Controller) pump() {
	for c.Active() && c.inFlight == nil && len(c.queue) > 0 {
		w, b, data := c.decide()
		if len(w.recs) == 0 {
			for _, answer := range b.answers {
				answer(c.image.Offset)
			}
			continue
		}
		c.inFlight = b
		c.q.Propose(data, func(offset int64, err error) { c.proposed(b, offset, err) })
	}
}

// decide runs queued ops into a batch until BatchOpsMax, or until the
// entry would outgrow the quorum's EntryBytesMax: then the batch is
// rebuilt without the op that overflowed it, which stays first in the
// queue (or, alone, is refused as too large).
func (c *Controller) decide() (*work, *batch, []byte) {
	limit := c.cfg.Quorum.EntryBytesMax
	w := &work{c: c, im: c.image.Clone()}
	b := &batch{}
	size := 0 // an upper bound of the entry's size: each op's records encoded alone
	for len(c.queue) > 0 && len(b.ops) < c.cfg.BatchOpsMax {
		o := c.queue[0]
		mark := len(w.recs)
		answer := o.run(w)
		if size += len(encode(w.recs[mark:])); size > limit {
			if mark == 0 {
				c.queue = c.queue[1:]
				o.reject(errTooLarge)
			}
			w = c.replay(w.recs[:mark])
			break
		}
		c.queue = c.queue[1:]
		b.ops, b.answers = append(b.ops, o), append(b.answers, answer)
	}
	return w, b, encode(w.recs)
}

// replay is a fresh working copy holding recs.
func (c *Controller) replay(recs []meta.Record) *work {
	w := &work{c: c, im: c.image.Clone()}
	w.emit(recs...)
	return w
}

func encode(recs []meta.Record) []byte {
	data, err := meta.Encode(recs)
	assert.Thatf(err == nil, "controller: encoding records: %v", err)
	return data
}

// proposed answers a batch's ops once the quorum tells its fate: applied
// (the answers), unknown (NOT_CONTROLLER: the client retries with the
// next active controller, which decides again on what was committed), or
// not written.
func (c *Controller) proposed(b *batch, offset int64, err error) {
	if c.inFlight == b {
		c.inFlight = nil
	}
	switch {
	case err == nil:
		for _, answer := range b.answers {
			answer(offset)
		}
	case errors.Is(err, quorum.ErrNotLeader), errors.Is(err, quorum.ErrLeaderChanged), errors.Is(err, quorum.ErrStopped):
		for _, o := range b.ops {
			o.reject(errNotController)
		}
	default:
		c.log.Warn("writing a metadata entry failed", "ops", len(b.ops), "err", err)
		for _, o := range b.ops {
			o.reject(errNotWritten)
		}
	}
	c.pump()
}
