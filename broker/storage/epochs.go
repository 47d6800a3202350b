package storage

// EpochEntry says that leader epoch Epoch wrote the log from StartOffset
// on (Kafka's leader epoch cache, KIP-101).
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// UndefinedEpoch and UndefinedEpochOffset are OffsetForLeaderEpoch's
// "unknown" answers (Kafka's UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
const (
	UndefinedEpoch       int32 = -1
	UndefinedEpochOffset int64 = -1
)

// epochCache holds the entries, strictly increasing in both fields. It
// grows by one entry per leader change; truncation from either end keeps
// it matched to the log.
type epochCache struct {
	entries []EpochEntry
}

func (c *epochCache) latest() (EpochEntry, bool) {
	if len(c.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// assign records that epoch starts at start. Re-assigning the latest epoch
// at or after its start is a no-op; anything else first drops the entries
// it contradicts (an epoch at or above it, or a start at or after it), as
// after a truncation the log was rewritten from there. It reports whether
// the cache changed.
func (c *epochCache) assign(epoch int32, start int64) bool {
	if epoch < 0 || start < 0 {
		return false
	}
	if last, ok := c.latest(); ok && last.Epoch == epoch && start >= last.StartOffset {
		return false
	}
	n := len(c.entries)
	for n > 0 && (c.entries[n-1].Epoch >= epoch || c.entries[n-1].StartOffset >= start) {
		n--
	}
	c.entries = append(c.entries[:n], EpochEntry{Epoch: epoch, StartOffset: start})
	return true
}

// truncateFromEnd drops the entries starting at or after end, the new log
// end offset.
func (c *epochCache) truncateFromEnd(end int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= end {
		n--
	}
	changed := n < len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart drops the entries wholly before start, the new log
// start offset, and moves the entry in force at start to begin there.
func (c *epochCache) truncateFromStart(start int64) bool {
	n := 0
	for n < len(c.entries) && c.entries[n].StartOffset <= start {
		n++
	}
	if n == 0 || (n == 1 && c.entries[0].StartOffset == start) {
		return false
	}
	kept := c.entries[n-1]
	kept.StartOffset = start
	c.entries = append([]EpochEntry{kept}, c.entries[n:]...)
	return true
}

// endOffsetFor answers OffsetForLeaderEpoch for requested, with Kafka's
// rules: the largest epoch at or below requested, and where it ends (the
// start of the next epoch, or logEnd for the latest epoch). A requested
// epoch above every entry, or an empty cache, is undefined. A requested
// epoch below every entry answers requested itself with the first entry's
// start offset: the data before it was deleted, and the follower must
// truncate to where the leader's log begins.
func (c *epochCache) endOffsetFor(requested int32, logEnd int64) (int32, int64) {
	last, ok := c.latest()
	switch {
	case requested == UndefinedEpoch || !ok:
		return UndefinedEpoch, UndefinedEpochOffset
	case requested == last.Epoch:
		return requested, logEnd
	case requested > last.Epoch:
		return UndefinedEpoch, UndefinedEpochOffset
	}
	higher := 0
	for higher < len(c.entries) && c.entries[higher].Epoch <= requested {
		higher++
	}
	if higher == 0 {
		return requested, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}
