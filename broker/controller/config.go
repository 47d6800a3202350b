package controller

import (
	"errors"
	"fmt"
	"math"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/quorum"
)

// Config is what a controller is built with. Names follow Kafka's
// settings where one exists, with units last; every queue the controller
// keeps has its bound here, checked by New.
type Config struct {
	// NodeID is this controller's node id (node.id); it must be the
	// quorum's NodeID.
	NodeID int32
	// ClusterID is checked in BrokerRegistration requests (and in the
	// quorum's requests); "" takes Quorum.ClusterID, and if that is ""
	// too, turns the check off.
	ClusterID string
	// Quorum configures the embedded quorum node; Quorum.Voters are the
	// controllers. New sets its ClusterID (to ClusterID) and its Serve
	// (to Handle).
	Quorum quorum.Config

	// SessionTimeoutMs is how long a broker may go without a heartbeat
	// before the active controller fences it (broker.session.timeout.ms,
	// default 9000).
	SessionTimeoutMs int64
	// Static are the static broker configs the controller decides with
	// (STATIC_BROKER_CONFIG): num.partitions and default.replication.factor
	// for CreateTopics' -1, unclean.leader.election.enable and the other
	// topic defaults under the dynamic cluster-wide ones, and
	// delete.topic.enable.
	Static configs.Set
	// ProducerIDBlockSize is the size of the producer id blocks given out
	// by AllocateProducerIds (Kafka's is 1000).
	ProducerIDBlockSize int64

	// OpsQueuedMax bounds the operations (requests and the controller's
	// own, such as fencing) waiting for their turn; past it requests are
	// answered REQUEST_TIMED_OUT at once (default 1000).
	OpsQueuedMax int
	// BatchOpsMax bounds the operations decided together and written as
	// one metadata log entry (default 100).
	BatchOpsMax int
	// TopicsMax and PartitionsMax bound the topics and partitions of the
	// cluster; CreateTopics and CreatePartitions past them get
	// POLICY_VIOLATION (defaults 10000 and 100000).
	TopicsMax     int
	PartitionsMax int

	_ struct{} // disallow positional literals
}

// DefaultConfig returns Kafka's defaults for controller id with the given
// controller voters ("host:port" of each controller listener).
func DefaultConfig(id int32, voters map[int32]string) Config {
	return Config{
		NodeID: id, Quorum: quorum.DefaultConfig(id, voters),
		SessionTimeoutMs: 9000, ProducerIDBlockSize: 1000,
		OpsQueuedMax: 1000, BatchOpsMax: 100, TopicsMax: 10000, PartitionsMax: 100000,
	}
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.NodeID == c.Quorum.NodeID, "NodeID %d is not the quorum's NodeID %d", c.NodeID, c.Quorum.NodeID)
	check(c.SessionTimeoutMs > 0, "SessionTimeoutMs %d must be positive", c.SessionTimeoutMs)
	check(c.ProducerIDBlockSize > 0 && c.ProducerIDBlockSize <= math.MaxInt32, "ProducerIDBlockSize %d out of range", c.ProducerIDBlockSize)
	check(c.OpsQueuedMax > 0 && c.BatchOpsMax > 0, "queue bounds must be positive")
	check(c.TopicsMax > 0 && c.PartitionsMax > 0, "TopicsMax and PartitionsMax must be positive")
	if _, err := configs.StaticBroker(c.Static); err != nil {
		errs = append(errs, fmt.Errorf("Static: %w", err))
	} else if _, err := configs.BrokerSettingsOf(configs.Layers{Static: c.Static}); err != nil {
		errs = append(errs, fmt.Errorf("Static: %w", err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("controller: bad config: %w", errors.Join(errs...))
	}
	return nil
}
