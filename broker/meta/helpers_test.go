package meta

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fixture builds images record by record, so a test states the exact
// partition layout it starts from.
type fixture struct {
	t  *testing.T
	im *Image
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, im: NewImage()}
}

// broker registers a broker incarnation at the next broker epoch.
func (f *fixture) broker(id int32, fenced bool) *fixture {
	f.t.Helper()
	epoch := f.im.NextBrokerEpoch
	f.apply(Record{RegisterBroker: &RegisterBroker{
		ID: id, Epoch: epoch, Host: "h", Port: 9092 + id, IncarnationID: incarnation(id, epoch), Fenced: fenced,
	}})
	return f
}

// part is one partition of a fixture topic.
type part struct {
	replicas, isr []int32
	leader        int32
}

func (f *fixture) topic(name string, parts ...part) *fixture {
	f.t.Helper()
	f.apply(Record{Topic: &TopicRecord{Name: name, ID: topicID(name)}})
	for i, p := range parts {
		f.apply(Record{Partition: &PartitionRecord{
			TopicID: topicID(name), Partition: int32(i), Replicas: p.replicas, ISR: p.isr, Leader: p.leader,
		}})
	}
	return f
}

func (f *fixture) apply(recs ...Record) *fixture {
	f.t.Helper()
	applyAll(f.t, f.im, recs)
	return f
}

func (f *fixture) p(name string, index int32) *Partition {
	f.t.Helper()
	p := f.im.Partition(topicID(name), index)
	require.NotNil(f.t, p, "partition %s-%d", name, index)
	return p
}

func applyAll(t *testing.T, im *Image, recs []Record) {
	t.Helper()
	for i, r := range recs {
		require.NoError(t, im.Apply(r), "record %d: %s", i, show(r))
	}
}

func show(r Record) string {
	b, err := Encode([]Record{r})
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func topicID(name string) [16]byte {
	var id [16]byte
	id[0] = 0xee
	copy(id[1:], name)
	return id
}

func incarnation(id int32, epoch int64) [16]byte {
	var inc [16]byte
	inc[0], inc[1] = byte(id), byte(epoch)
	return inc
}

func leader(id int32) *int32 { return &id }

func str(s string) *string { return &s }

func never(string) bool { return false }

func always(string) bool { return true }

// change is a partition change record of topic name.
func change(name string, index int32, isr []int32, lead *int32) Record {
	return Record{PartitionChange: &PartitionChange{TopicID: topicID(name), Partition: index, ISR: isr, Leader: lead}}
}
