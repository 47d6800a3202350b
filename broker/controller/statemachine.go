package controller

import (
	"errors"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/internal/assert"
)

// stateMachine is the controller as the quorum's StateMachine, kept off
// the Controller's exported methods.
type stateMachine struct{ c *Controller }

// Apply applies one committed entry (a list of records) to the image. A
// record the image refuses as stale (meta.ErrStale) is skipped; any other
// refusal is a record the controller must never have written.
func (s stateMachine) Apply(offset int64, _ int32, data []byte) {
	c := s.c
	recs, err := meta.Decode(data)
	if err != nil {
		c.log.Error("undecodable metadata entry", "offset", offset, "err", err)
		assert.Thatf(false, "controller %d: entry %d: %v", c.cfg.NodeID, offset, err)
	}
	for _, r := range recs {
		if err := c.image.Apply(r); err != nil {
			if errors.Is(err, meta.ErrStale) {
				c.log.Debug("stale metadata record", "offset", offset, "err", err)
				continue
			}
			c.log.Error("metadata record refused", "offset", offset, "err", err)
			assert.Thatf(false, "controller %d: entry %d: %v", c.cfg.NodeID, offset, err)
		}
		if reg := r.RegisterBroker; reg != nil {
			c.regOffsets[reg.ID] = regOffset{epoch: reg.Epoch, offset: offset}
		}
	}
	c.image.Offset = offset
	c.notifyApplied()
}

// Snapshot is the image's (registration offsets are not kept: see
// Restore).
func (s stateMachine) Snapshot() []byte {
	b, err := s.c.image.Snapshot()
	assert.Thatf(err == nil, "controller: snapshot: %v", err)
	return b
}

// Restore replaces the image with a snapshot's, the state after every
// entry below offset. The registrations' own offsets are not in the
// snapshot, so each registered broker counts as registered at the
// snapshot's last offset: it must catch up that far to be unfenced,
// which is never less than Kafka asks.
func (s stateMachine) Restore(offset int64, data []byte) {
	c := s.c
	im := meta.NewImage()
	if data != nil {
		var err error
		if im, err = meta.Restore(data); err != nil {
			c.log.Error("unreadable metadata snapshot", "offset", offset, "err", err)
			assert.Thatf(false, "controller %d: snapshot at %d: %v", c.cfg.NodeID, offset, err)
			im = meta.NewImage()
		}
	}
	im.Offset = offset - 1
	c.image = im
	c.regOffsets = map[int32]regOffset{}
	for _, b := range im.SortedBrokers() {
		c.regOffsets[b.ID] = regOffset{epoch: b.Epoch, offset: im.Offset}
	}
	c.notifyApplied()
}
