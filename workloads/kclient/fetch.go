package kclient

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one fetched record.
type Record struct {
	Offset      int64
	TimestampMs int64
	Key, Value  []byte
	Headers     []records.RecordHeader
	// LeaderEpoch is the partition leader epoch stamped in its batch.
	LeaderEpoch int32
}

// FetchResult is one Fetch's outcome: the records at and after the asked
// offset, in offset order, and the partition's offsets as the leader saw
// them. Err is set instead for a failure: kerr.OffsetOutOfRange (the
// offsets are filled in then, so the caller can move), ErrCorrupt, or a
// retriable error that outlasted RetryTimeoutMs.
type FetchResult struct {
	Topic            string
	Partition        int32
	Records          []Record
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	Err              error
}

// Fetch reads a partition from offset (assign mode: no group), waiting up
// to FetchWaitMsMax for FetchBytesMin. Leader errors refresh the metadata
// and retry; OFFSET_OUT_OF_RANGE is reported, not retried.
func (cl *Client) Fetch(topic string, partition int32, offset int64, done func(FetchResult)) {
	res := FetchResult{Topic: topic, Partition: partition, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1}
	cl.retrying(func(step func(error)) {
		cl.meta.leaderFor(topic, partition, func(addr string, err error) {
			if err != nil {
				step(err)
				return
			}
			cl.Request(Addr(addr), cl.fetchRequest(topic, partition, offset), func(resp kmsg.Response, err error) {
				if err == nil {
					err = cl.readFetch(resp.(*kmsg.FetchResponse), offset, &res)
				}
				step(err)
			})
		})
	}, func(err error) {
		if err != nil {
			res.Records = nil
		}
		res.Err = err
		done(res)
	})
}

func (cl *Client) fetchRequest(topic string, partition int32, offset int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = cl.cfg.FetchWaitMsMax
	req.MinBytes = cl.cfg.FetchBytesMin
	req.MaxBytes = cl.cfg.FetchBytesMax
	req.SessionID, req.SessionEpoch = 0, -1 // full fetches, no session (KIP-227)
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.CurrentLeaderEpoch = -1
	rp.LogStartOffset = -1
	rp.PartitionMaxBytes = cl.cfg.FetchPartitionBytesMax
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// readFetch fills res from the answer for our partition.
func (cl *Client) readFetch(resp *kmsg.FetchResponse, offset int64, res *FetchResult) error {
	if err := errorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, t := range resp.Topics {
		if t.Topic != res.Topic {
			continue
		}
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Partition != res.Partition {
				continue
			}
			res.HighWatermark, res.LastStableOffset, res.LogStartOffset = p.HighWatermark, p.LastStableOffset, p.LogStartOffset
			if err := errorForCode(p.ErrorCode); err != nil {
				return err
			}
			recs, err := decodeBatches(p.RecordBatches, offset, cl.cfg.FetchDecompressedBytesMax)
			res.Records = recs
			return err
		}
	}
	return fmt.Errorf("%w: fetch answer lacks %s/%d", ErrBadResponse, res.Topic, res.Partition)
}

// decodeBatches decodes concatenated v2 batches, keeping the records at or
// after offset (a batch may start before it). Control batches carry no
// records for a consumer. A truncated batch at the end is normal (a broker
// may cut the last batch at the size limit) and ends the walk; anything
// else malformed, or a CRC mismatch, is ErrCorrupt.
func decodeBatches(b []byte, offset int64, decompressedBytesMax int) ([]Record, error) {
	var out []Record
	for len(b) > 0 {
		h, err := records.ParseHeader(b)
		if errors.Is(err, records.ErrShort) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if !records.CRCOK(b, h) {
			return out, fmt.Errorf("%w: batch at offset %d: %w", ErrCorrupt, h.BaseOffset, records.ErrBadCRC)
		}
		if !h.IsControl() && h.LastOffset() >= offset {
			recs, err := records.Records(b, h, decompressedBytesMax)
			if err != nil {
				return out, fmt.Errorf("%w: batch at offset %d: %w", ErrCorrupt, h.BaseOffset, err)
			}
			out = appendRecords(out, recs, h, offset)
		}
		b = b[h.Size():]
	}
	return out, nil
}

func appendRecords(out []Record, recs []records.Record, h records.Header, offset int64) []Record {
	for _, r := range recs {
		if r.Offset(h) < offset {
			continue
		}
		out = append(out, Record{
			Offset: r.Offset(h), TimestampMs: r.Timestamp(h),
			Key: r.Key, Value: r.Value, Headers: r.Headers,
			LeaderEpoch: h.PartitionLeaderEpoch,
		})
	}
	return out
}
