package replication

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker"
)

// at formats a simulated time for a witness.
func at(ns int64) string { return "t=" + time.Duration(ns).String() }

// batch formats a batch for a witness.
func batch(b broker.BatchInfo) string {
	return fmt.Sprintf("[%d..%d] epoch %d crc %08x", b.BaseOffset, b.LastOffset, b.LeaderEpoch, b.CRC)
}

// dedupeKey is what makes two findings the same one.
func dedupeKey(inv string, k tpKey, what string) string {
	return inv + "|" + k.topic + "|" + fmt.Sprintf("%x", k.id) + "|" + strconv.Itoa(int(k.part)) + "|" + what
}

// violate reports a violation once: the same finding (inv, partition,
// what) in later observations is not repeated.
func (m *Monitor) violate(out []Violation, inv string, k tpKey, what, format string, args ...any) []Violation {
	key := dedupeKey(inv, k, what)
	if m.reported[key] {
		return out
	}
	m.reported[key] = true
	return append(out, Violation{Invariant: inv, Topic: k.topic, Partition: k.part, TimeNs: m.now, Witness: fmt.Sprintf(format, args...)})
}

// inform records an informational finding once.
func (m *Monitor) inform(inv string, k tpKey, what, format string, args ...any) {
	key := dedupeKey(inv, k, what)
	if m.reported[key] {
		return
	}
	m.reported[key] = true
	m.infos = append(m.infos, Violation{Invariant: inv, Topic: k.topic, Partition: k.part, TimeNs: m.now, Witness: fmt.Sprintf(format, args...)})
}

// lose records an allowed loss once.
func (m *Monitor) lose(inv string, k tpKey, what string, from, to int64, reason, format string, args ...any) {
	key := dedupeKey(inv, k, what)
	if m.lossSeen[key] {
		return
	}
	m.lossSeen[key] = true
	m.losses = append(m.losses, Loss{
		Invariant: inv, Topic: k.topic, Partition: k.part, Offset: from, LastOffset: to,
		TimeNs: m.now, Reason: reason, Witness: fmt.Sprintf(format, args...),
	})
}
