package broker

import (
	"fmt"
	"strings"
)

// plantedBug is a bug a test plants on purpose, to show that the
// simulation's monitors catch it (broker/planted_test.go). It is set only
// through export_test.go or, in a build with the planted tag,
// plant_planted.go, so no normal build can turn one on; the zero value, noBug, is the broker as it is.
type plantedBug uint8

const (
	noBug plantedBug = iota
	// bugAckBeforeISR answers acks=all once the leader has the batch, as
	// acks=1 does, before the ISR holds it.
	bugAckBeforeISR
	// bugIgnoreMinISR appends and acknowledges acks=all writes whatever
	// the ISR's size (no NOT_ENOUGH_REPLICAS, before or after the append).
	bugIgnoreMinISR
	// bugSkipTruncation: a follower keeps its divergent tail (no
	// KIP-101/279 truncation): it fetches from its log end without its
	// last fetched epoch, so the leader cannot tell it diverged, and it
	// ignores a diverging epoch if told one. Pre-KIP-101 Kafka's bug: the
	// follower rejoins the ISR with a log that differs below the high
	// watermark.
	bugSkipTruncation
	// bugIgnoreDedup appends a retried idempotent batch again instead of
	// answering with the original's offset (no 5-batch dedup window): a
	// retry after a lost answer duplicates its records, which idempotence
	// exists to prevent.
	bugIgnoreDedup
)

// PlantedBugs names the bugs PlantBug knows.
func PlantedBugs() []string {
	return []string{"ack-before-isr", "ignore-min-isr", "skip-truncation", "ignore-dedup"}
}

// plantBug is what PlantBug (tests, or a build with the planted tag)
// sets.
func plantBug(cfg *Config, name string) error {
	switch name {
	case "ack-before-isr":
		cfg.plant = bugAckBeforeISR
	case "ignore-min-isr":
		cfg.plant = bugIgnoreMinISR
	case "skip-truncation":
		cfg.plant = bugSkipTruncation
	case "ignore-dedup":
		cfg.plant = bugIgnoreDedup
	default:
		return fmt.Errorf("no planted bug %q (%s)", name, strings.Join(PlantedBugs(), ", "))
	}
	return nil
}

// acksAllDone reports whether an acks=all write ending at end may be
// answered: the high watermark passed it (planted: the leader has it).
func (b *Broker) acksAllDone(p *partition, end int64) bool {
	if b.cfg.plant == bugAckBeforeISR {
		return p.ackEnd() >= end
	}
	return p.hw >= end
}

// minISR is the ISR size acks=all needs (planted: none).
func (b *Broker) minISR(p *partition) int {
	if b.cfg.plant == bugIgnoreMinISR {
		return 0
	}
	return p.t.settings.minInsyncReplicas
}

// dedups reports whether a retried idempotent batch is answered from the
// original (planted: appended again).
func (b *Broker) dedups() bool { return b.cfg.plant != bugIgnoreDedup }
