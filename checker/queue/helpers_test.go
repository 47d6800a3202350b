package queue

import (
	"fmt"

	"github.com/gregor-dst/gregor/checker/history"
)

var (
	k0 = history.Key{Topic: "t", Partition: 0}
	k1 = history.Key{Topic: "t", Partition: 1}
)

// hb writes test histories tersely. Methods that complete an op return the
// completion's index, for checking witnesses.
type hb struct{ b *history.Builder }

func newHB() *hb { return &hb{b: history.NewBuilder()} }

func (h *hb) ops() []history.Op { return h.b.Ops() }

// sendStart invokes process p's send of the given values to k.
func (h *hb) sendStart(p int, k history.Key, values ...int64) {
	var sends []history.SendOp
	for _, v := range values {
		sends = append(sends, history.NewSend(k, v))
	}
	h.b.Invoke(p, history.Send, history.Sends(sends...))
}

// sendOk acks process p's open send to k with offsets, one per value.
func (h *hb) sendOk(p int, k history.Key, values []int64, offsets ...int64) int {
	var sends []history.SendOp
	for i, v := range values {
		sends = append(sends, history.AckedSend(k, v, offsets[i]))
	}
	return h.b.Ok(p, history.Sends(sends...)).Index
}

// send is a whole send of one value, acked at offset.
func (h *hb) send(p int, k history.Key, value, offset int64) int {
	h.sendStart(p, k, value)
	return h.sendOk(p, k, []int64{value}, offset)
}

// sendFail is a whole send that definitely failed.
func (h *hb) sendFail(p int, k history.Key, value int64) int {
	h.sendStart(p, k, value)
	return h.b.Fail(p, "INVALID_RECORD").Index
}

// sendInfo is a whole send with an unknown outcome.
func (h *hb) sendInfo(p int, k history.Key, value int64) int {
	h.sendStart(p, k, value)
	return h.b.Info(p, "timeout").Index
}

// poll is a whole ok poll of k; pairs are offset, value, offset, value, …
func (h *hb) poll(p int, k history.Key, pairs ...int64) int {
	h.b.Invoke(p, history.Poll, history.Value{})
	return h.pollOk(p, k, pairs...)
}

func (h *hb) pollOk(p int, k history.Key, pairs ...int64) int {
	return h.b.Ok(p, history.Polls(history.Records(k, records(pairs...)...))).Index
}

// pollHW is a whole ok poll of k that reports a high watermark.
func (h *hb) pollHW(p int, k history.Key, hw int64, pairs ...int64) int {
	h.b.Invoke(p, history.Poll, history.Value{})
	polled := history.Polled{Key: k, Records: records(pairs...), HighWatermark: hw, HasHighWatermark: true}
	return h.b.Ok(p, history.Polls(polled)).Index
}

func (h *hb) pollInfo(p int) int {
	h.b.Invoke(p, history.Poll, history.Value{})
	return h.b.Info(p, "timeout").Index
}

func (h *hb) assign(p int, keys ...history.Key) int {
	h.b.Invoke(p, history.Assign, history.Keys(keys...))
	return h.b.Ok(p, history.Value{}).Index
}

func (h *hb) subscribe(p int, topics ...string) int {
	h.b.Invoke(p, history.Subscribe, history.Topics(topics...))
	return h.b.Ok(p, history.Value{}).Index
}

func (h *hb) crash(p int) int {
	h.b.Invoke(p, history.Crash, history.Value{})
	return h.b.Info(p, "").Index
}

func records(pairs ...int64) []history.Record {
	var recs []history.Record
	for i := 0; i+1 < len(pairs); i += 2 {
		recs = append(recs, history.Record{Offset: pairs[i], Value: pairs[i+1]})
	}
	return recs
}

// withBase returns a copy of a model input with the given base state,
// leaving the original (and the windows that share it) alone.
func withBase(input any, base *logState) any {
	switch in := input.(type) {
	case *sendIn:
		c := *in
		c.base = base
		return &c
	case *pollIn:
		c := *in
		c.base = base
		return &c
	}
	panic(fmt.Sprintf("queue: model input %T", input))
}
