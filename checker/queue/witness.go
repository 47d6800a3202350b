package queue

import "github.com/gregor-dst/gregor/checker/history"

// witnessOpsMax bounds a witness: enough ops to prove the anomaly, few
// enough to read.
const witnessOpsMax = 4

// recordsAround is how many records on either side of the offsets in
// question a cut poll keeps, to show the neighbourhood without the whole
// batch.
const recordsAround = 2

// cut returns op reduced to key: its sends to key, or its poll of key with
// the records within recordsAround of [lo, hi] (all of them when lo > hi).
// The Index still names the full op in the history.
func cut(op *history.Op, key history.Key, lo, hi int64) history.Op {
	out := *op
	out.Value = history.Value{Keys: op.Value.Keys, Topics: op.Value.Topics, Raw: op.Value.Raw}
	for _, s := range op.Value.Sends {
		if s.Key == key {
			out.Value.Sends = append(out.Value.Sends, s)
		}
	}
	for _, p := range op.Value.Polls {
		if p.Key != key {
			continue
		}
		kept := p
		if lo <= hi {
			kept.Records = nil
			for _, rec := range p.Records {
				if rec.Offset >= lo-recordsAround && rec.Offset <= hi+recordsAround {
					kept.Records = append(kept.Records, rec)
				}
			}
		}
		out.Value.Polls = append(out.Value.Polls, kept)
	}
	return out
}

// appendWitness adds op unless the witness is full or already holds it.
func appendWitness(witness []history.Op, op history.Op) []history.Op {
	if len(witness) >= witnessOpsMax {
		return witness
	}
	for _, w := range witness {
		if w.Index == op.Index {
			return witness
		}
	}
	return append(witness, op)
}
