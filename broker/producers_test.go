package broker

import (
	"math"
	"slices"
	"testing"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// batch is an idempotent batch header: producer 7, epoch, first sequence
// and record count.
func batch(epoch int16, seq int32, n int32) records.Header {
	return records.Header{ProducerID: 7, ProducerEpoch: epoch, BaseSequence: seq, LastOffsetDelta: n - 1, NumRecords: n}
}

func TestProducerTable(t *testing.T) {
	type step struct {
		h       records.Header
		wantErr *kerr.Error
		dupOf   int64 // expected original offset of a duplicate; -1: not a duplicate
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{batch(0, 0, 3), nil, -1},
			{batch(0, 3, 2), nil, -1},
			{batch(0, 5, 1), nil, -1},
		}},
		{"new producer may start anywhere (state lost: KIP-360)", []step{
			{batch(0, 42, 1), nil, -1},
			{batch(0, 43, 1), nil, -1},
		}},
		{"gap is out of order", []step{
			{batch(0, 0, 3), nil, -1},
			{batch(0, 4, 1), kerr.OutOfOrderSequenceNumber, -1},
		}},
		{"retry of the last batch is a duplicate with its offset", []step{
			{batch(0, 0, 3), nil, -1},
			{batch(0, 3, 2), nil, -1},
			{batch(0, 3, 2), nil, 3},
		}},
		{"retry of the fifth-newest batch is still a duplicate", []step{
			{batch(0, 0, 1), nil, -1},
			{batch(0, 1, 1), nil, -1},
			{batch(0, 2, 1), nil, -1},
			{batch(0, 3, 1), nil, -1},
			{batch(0, 4, 1), nil, -1},
			{batch(0, 0, 1), nil, 0},
		}},
		{"the sixth-newest batch is forgotten: out of order", []step{
			{batch(0, 0, 1), nil, -1},
			{batch(0, 1, 1), nil, -1},
			{batch(0, 2, 1), nil, -1},
			{batch(0, 3, 1), nil, -1},
			{batch(0, 4, 1), nil, -1},
			{batch(0, 5, 1), nil, -1},
			{batch(0, 0, 1), kerr.OutOfOrderSequenceNumber, -1},
		}},
		{"older epoch is fenced", []step{
			{batch(2, 0, 1), nil, -1},
			{batch(1, 1, 1), kerr.InvalidProducerEpoch, -1},
		}},
		{"new epoch must start at 0", []step{
			{batch(0, 0, 1), nil, -1},
			{batch(1, 5, 1), kerr.OutOfOrderSequenceNumber, -1},
			{batch(1, 0, 1), nil, -1},
			{batch(1, 1, 1), nil, -1},
		}},
		{"a duplicate from the old epoch after a bump is fenced", []step{
			{batch(0, 0, 1), nil, -1},
			{batch(1, 0, 1), nil, -1},
			{batch(0, 0, 1), kerr.InvalidProducerEpoch, -1},
		}},
		{"sequence wraps at MaxInt32", []step{
			{batch(0, math.MaxInt32-1, 2), nil, -1},
			{batch(0, 0, 1), nil, -1},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pt := newProducerTable(10)
			offset := int64(0)
			for i, s := range c.steps {
				dup, err := pt.check(s.h)
				require.Equal(t, s.wantErr, err, "step %d", i)
				if s.dupOf >= 0 {
					require.NotNil(t, dup, "step %d: want a duplicate", i)
					require.Equal(t, s.dupOf, dup.firstOffset, "step %d", i)
					continue
				}
				require.Nil(t, dup, "step %d: not a duplicate", i)
				if err == nil {
					pt.update(s.h, offset)
					offset += int64(s.h.NumRecords)
				}
			}
		})
	}
}

func TestProducerTableBounds(t *testing.T) {
	pt := newProducerTable(3)
	for id := int64(1); id <= 5; id++ {
		h := batch(0, 0, 1)
		h.ProducerID, h.MaxTimestamp = id, 100+id
		pt.update(h, id)
	}
	require.Len(t, pt.byID, 3, "the table stays bounded")
	require.NotContains(t, pt.byID, int64(1), "the longest-idle producer goes first")
	require.Contains(t, pt.byID, int64(5))

	pt.expire(105+1000, 1000)
	require.Equal(t, []int64{5}, sortedIDs(pt), "producers idle past the expiry are forgotten")

	pt.forgetBelow(6)
	require.Empty(t, pt.byID, "a producer whose batches were all deleted is forgotten")
}

func sortedIDs(pt *producerTable) []int64 {
	var ids []int64
	for id := range pt.byID { //gregor:unordered-ok test helper, sorted below
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
