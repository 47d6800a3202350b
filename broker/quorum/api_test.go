package quorum

import (
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// roundTrip sends req through the frame codecs to node id's HandleRequest
// and decodes the answer, as a client on the controller listener would.
func (c *cluster) roundTrip(id int32, req kmsg.Request) kmsg.Response {
	c.t.Helper()
	h, decoded, err := decodeRequest(wire.AppendRequest(nil, req, 7, nil), false)
	require.NoError(c.t, err)
	var resp kmsg.Response
	c.s.Call(c.hosts[id], func(p env.Process) {
		require.True(c.t, p.(*Node).HandleRequest(decoded, func(r kmsg.Response) { resp = r }))
	})
	require.True(c.t, c.runUntil(5*time.Second, func() bool { return resp != nil }), "no answer")
	corr, back, err := wire.DecodeResponse(req, appendResponse(nil, h, resp))
	require.NoError(c.t, err)
	require.Equal(c.t, int32(7), corr)
	return back
}

func describeQuorum(version int16) *kmsg.DescribeQuorumRequest {
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.SetVersion(version)
	req.Topics = []kmsg.DescribeQuorumRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.DescribeQuorumRequestTopicPartition{{Partition: 0}}}}
	return req
}

func TestDescribeQuorum(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 11, voters: 3, disk: slowDisk})
	l := c.waitLeader(10 * time.Second)
	require.Equal(t, 30, c.proposeAll("d", 30, 10, 10*time.Second))
	c.run(time.Second)
	for v := int16(0); v <= 2; v++ {
		resp := c.roundTrip(l, describeQuorum(v)).(*kmsg.DescribeQuorumResponse)
		p := resp.Topics[0].Partitions[0]
		require.Equal(t, int16(0), p.ErrorCode)
		require.Equal(t, l, p.LeaderID)
		require.Equal(t, c.nodes[l].Status().Epoch, p.LeaderEpoch)
		require.Equal(t, c.nodes[l].Status().HighWatermark, p.HighWatermark)
		require.Len(t, p.CurrentVoters, 3)
		for _, r := range p.CurrentVoters {
			require.Equal(t, p.HighWatermark, r.LogEndOffset, "voter %d", r.ReplicaID)
		}
	}
	var follower int32
	for _, id := range c.ids {
		if id != l {
			follower = id
		}
	}
	resp := c.roundTrip(follower, describeQuorum(1)).(*kmsg.DescribeQuorumResponse)
	require.Equal(t, kerr.NotLeaderForPartition.Code, resp.Topics[0].Partitions[0].ErrorCode)
	require.Equal(t, l, resp.Topics[0].Partitions[0].LeaderID)
}

func TestHandleRequestScope(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 12, voters: 3})
	l := c.waitLeader(10 * time.Second)
	n := c.nodes[l]
	other := kmsg.NewPtrFetchRequest()
	other.SetVersion(13)
	other.Topics = []kmsg.FetchRequestTopic{{TopicID: [16]byte{1}, Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0}}}}
	preVote := kmsg.NewPtrVoteRequest()
	preVote.SetVersion(2)
	for _, req := range []kmsg.Request{kmsg.NewPtrApiVersionsRequest(), other, preVote, kmsg.NewPtrProduceRequest()} {
		require.False(t, n.HandleRequest(req, func(kmsg.Response) { t.Fatal("answered") }), "%T v%d", req, req.GetVersion())
	}
}

func TestClusterIDMismatch(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 13, voters: 3})
	l := c.waitLeader(10 * time.Second)
	req := kmsg.NewPtrVoteRequest()
	req.SetVersion(voteVersion)
	wrong := "another-cluster"
	req.ClusterID = &wrong
	p := kmsg.NewVoteRequestTopicPartition()
	p.CandidateEpoch, p.CandidateID, p.LastOffset, p.LastOffsetEpoch = 100, l, 1000, 100
	req.Topics = []kmsg.VoteRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.VoteRequestTopicPartition{p}}}
	resp := c.roundTrip(l, req).(*kmsg.VoteResponse)
	require.Equal(t, kerr.InconsistentClusterID.Code, resp.ErrorCode)
	require.Equal(t, Leader, c.nodes[l].Status().State, "a foreign vote request moved the leader")
}

// TestObserverFetch: a non-voter (a broker following the metadata log)
// fetches committed and uncommitted entries like a voter, without
// counting towards the high watermark.
func TestObserverFetch(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 14, voters: 3})
	l := c.waitLeader(10 * time.Second)
	require.Equal(t, 5, c.proposeAll("o", 5, 5, 10*time.Second))
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(fetchVersion)
	req.ReplicaState.ID = 99
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.CurrentLeaderEpoch, fp.FetchOffset, fp.LastFetchedEpoch, fp.PartitionMaxBytes = c.nodes[l].Status().Epoch, 0, -1, 1<<20
	req.MaxBytes = 1 << 20
	req.Topics = []kmsg.FetchRequestTopic{{TopicID: metadataTopicID, Partitions: []kmsg.FetchRequestTopicPartition{fp}}}
	resp := c.roundTrip(l, req).(*kmsg.FetchResponse)
	p := resp.Topics[0].Partitions[0]
	require.Equal(t, int16(0), p.ErrorCode)
	var values []string
	_, err := records.Each(p.RecordBatches, func(h records.Header, b []byte) error {
		if h.IsControl() {
			return nil
		}
		recs, err := records.Records(b, h, 1<<20)
		for _, r := range recs {
			values = append(values, string(r.Value))
		}
		return err
	})
	require.NoError(t, err)
	require.Equal(t, []string{"o-0", "o-1", "o-2", "o-3", "o-4"}, values)
	require.Equal(t, c.nodes[l].Status().HighWatermark, p.HighWatermark)
}

func voteRequest(epoch, candidate int32, lastEpoch int32, lastOffset int64) *kmsg.VoteRequest {
	req := kmsg.NewPtrVoteRequest()
	req.SetVersion(voteVersion)
	req.VoterID = -1
	p := kmsg.NewVoteRequestTopicPartition()
	p.CandidateEpoch, p.CandidateID, p.LastOffsetEpoch, p.LastOffset = epoch, candidate, lastEpoch, lastOffset
	req.Topics = []kmsg.VoteRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.VoteRequestTopicPartition{p}}}
	return req
}

// TestVoteSurvivesRestart: a granted vote is on disk before it is
// answered, so a voter that crashes right after cannot vote again in the
// same epoch.
func TestVoteSurvivesRestart(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 15, voters: 3, disk: slowDisk})
	l := c.waitLeader(10 * time.Second)
	c.run(time.Second) // the LeaderChange entry reaches every log
	var others []int32
	for _, id := range c.ids {
		if id != l {
			others = append(others, id)
		}
	}
	voter, rival := others[0], others[1]
	epoch := c.nodes[l].Status().Epoch + 5
	resp := c.roundTrip(voter, voteRequest(epoch, rival, epoch, 1<<40)).(*kmsg.VoteResponse)
	require.True(t, resp.Topics[0].Partitions[0].VoteGranted)
	c.hosts[voter].Crash()
	require.NoError(t, c.hosts[voter].Start())
	require.True(t, c.runUntil(time.Second, func() bool { return c.nodes[voter].Status().State != Down }))
	s := c.nodes[voter].Status()
	require.Equal(t, epoch, s.Epoch)
	require.Equal(t, rival, s.VotedID)
	resp = c.roundTrip(voter, voteRequest(epoch, l, epoch, 1<<40)).(*kmsg.VoteResponse)
	require.False(t, resp.Topics[0].Partitions[0].VoteGranted, "voted twice in epoch %d", epoch)
	// A candidate whose log is behind gets no vote in a newer epoch.
	resp = c.roundTrip(voter, voteRequest(epoch+1, l, 0, 0)).(*kmsg.VoteResponse)
	require.False(t, resp.Topics[0].Partitions[0].VoteGranted)
	require.Equal(t, epoch+1, resp.Topics[0].Partitions[0].LeaderEpoch)
}
