package quorum

import (
	"encoding/binary"
	"fmt"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The metadata partition, as KRaft names it: topic __cluster_metadata,
// partition 0, whose topic id is the reserved uuid 0…01.
const (
	metadataTopic     = "__cluster_metadata"
	metadataPartition = 0
	logDirName        = metadataTopic + "-0"
)

var metadataTopicID = [16]byte{15: 1}

// versionRange is what the quorum serves of one API key.
type versionRange struct{ min, max int16 }

// served lists the keys and versions the quorum answers. Fetch is served
// from v13, where topics go by id; v15 adds ReplicaState, v18 the
// follower's high watermark (KIP-1166).
var served = map[int16]versionRange{
	1:  {13, 18}, // Fetch
	52: {0, 1},   // Vote (v2 is KIP-996 pre-vote, not implemented)
	53: {0, 1},   // BeginQuorumEpoch
	54: {0, 1},   // EndQuorumEpoch
	55: {0, 2},   // DescribeQuorum
	59: {0, 1},   // FetchSnapshot
}

// The versions this node sends.
const (
	fetchVersion            = 18
	voteVersion             = 1
	beginQuorumEpochVersion = 1
	endQuorumEpochVersion   = 1
	fetchSnapshotVersion    = 0
)

func supported(key, version int16) bool {
	r, ok := served[key]
	return ok && version >= r.min && version <= r.max
}

// Request frames go out and response frames come in through broker/wire,
// the framing leaf every component shares (the quorum does not import
// the broker: the broker embeds the quorum, and the import would cycle).
// The serving side is here: the broker's request decoder checks its own
// API registry, which does not hold the quorum's keys.

// requestHeader is a request frame's header (v1, or v2 with tags).
type requestHeader struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      *string
}

// appendResponse appends a response frame for h: the correlation id,
// empty header tags for a flexible version, and the body.
func appendResponse(dst []byte, h requestHeader, resp kmsg.Response) []byte {
	resp.SetVersion(h.Version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.CorrelationID))
	if resp.IsFlexible() {
		dst = append(dst, 0)
	}
	return resp.AppendTo(dst)
}

// decodeRequest parses a request frame (no length prefix) for one of the
// served keys, as broker.DecodeRequest does against the broker's
// registry, which does not hold the quorum's keys; with anyKey (Config.Serve
// is set), for any key and version kmsg knows.
func decodeRequest(frame []byte, anyKey bool) (requestHeader, kmsg.Request, error) {
	r := kbin.Reader{Src: frame}
	h := requestHeader{Key: r.Int16(), Version: r.Int16(), CorrelationID: r.Int32()}
	h.ClientID = r.NullableString()
	if !r.Ok() {
		return h, nil, fmt.Errorf("%w: request header truncated (%d bytes)", errBadMessage, len(frame))
	}
	req := kmsg.RequestForKey(h.Key)
	known := req != nil && h.Version >= 0 && h.Version <= req.MaxVersion()
	if !supported(h.Key, h.Version) && !(anyKey && known) {
		return h, nil, fmt.Errorf("%w: %s v%d is not served", errBadMessage, kmsg.NameForKey(h.Key), h.Version)
	}
	req.SetVersion(h.Version)
	if req.IsFlexible() && !wire.SkipTags(&r) {
		return h, nil, fmt.Errorf("%w: header tags of %s v%d", errBadMessage, kmsg.NameForKey(h.Key), h.Version)
	}
	if err := req.ReadFrom(r.Src); err != nil {
		return h, nil, fmt.Errorf("%w: %s v%d: %v", errBadMessage, kmsg.NameForKey(h.Key), h.Version, err)
	}
	return h, req, nil
}

// clusterOK is the cluster id check every request gets: a request naming
// another cluster is refused (INCONSISTENT_CLUSTER_ID). A request naming
// none passes, as Kafka lets it.
// rejected sets the top-level error of a quorum request that may not be
// served: another cluster's (INCONSISTENT_CLUSTER_ID), or one not naming
// exactly the metadata partition (INVALID_REQUEST).
func (n *Node) rejected(clusterID *string, single bool, code *int16) bool {
	switch {
	case !n.clusterOK(clusterID):
		*code = kerr.InconsistentClusterID.Code
	case !single:
		*code = kerr.InvalidRequest.Code
	default:
		return false
	}
	return true
}

func (n *Node) clusterOK(id *string) bool {
	return n.cfg.ClusterID == "" || id == nil || *id == n.cfg.ClusterID
}

func (n *Node) clusterID() *string {
	if n.cfg.ClusterID == "" {
		return nil
	}
	id := n.cfg.ClusterID
	return &id
}

// isMetadataPartition checks a request's single topic and partition.
func isMetadataPartition(topic string, partition int32) bool {
	return topic == metadataTopic && partition == metadataPartition
}
