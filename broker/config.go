package broker

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/controller"
)

// Config is what a broker is built with. Every queue and table the broker
// keeps has its bound here, validated by New.
type Config struct {
	// NodeID is this broker's id (node.id); 0 by default, as a single-node
	// cluster.
	NodeID int32
	// ClusterID is reported in Metadata and DescribeCluster.
	ClusterID string
	// Port is the port the broker listens on in its Env's network; 0 lets
	// the runtime choose (the real runtime; the simulator needs a port).
	Port int
	// AdvertisedHost and AdvertisedPort are what Metadata tells clients to
	// connect to. Empty/0 means the listener's own address.
	AdvertisedHost string
	AdvertisedPort int
	// DataDir is the directory in the Env's file system holding the logs
	// and the metadata file; "" is the file system's root.
	DataDir string
	// Listening, if set, is called once the broker serves clients
	// (registered with the controller and unfenced), with the listener's
	// address (the real runtime may have picked the port).
	Listening func(addr string)
	// Voters are the metadata quorum's voters by node id, each at its
	// controller listener "host:port" (controller.quorum.voters). Every
	// broker is a voter (combined mode); an empty map makes this broker a
	// quorum of one, the single-node cluster.
	Voters map[int32]string
	// ControllerPort is where this node's controller listener serves the
	// quorum and the controller APIs in its Env's network (9093 by
	// default; 0 lets the runtime choose, for a quorum of one).
	ControllerPort int
	// Controller, if set, adjusts the embedded controller's Config after
	// the broker derived it (tests shorten timeouts with it).
	Controller func(*controller.Config)
	// Static are the broker configs it starts with, under Kafka's names
	// (log.retention.ms, num.partitions, …), as from --config key=value.
	Static configs.Set

	// ConnectionsMax bounds open client connections (max.connections).
	ConnectionsMax int
	// InFlightRequestsPerConnMax bounds the requests a connection may have
	// queued while one is served (Kafka serves one request per connection
	// at a time; clients pipeline behind it).
	InFlightRequestsPerConnMax int
	// FetchWaitersMax bounds fetches parked in purgatory waiting for data.
	FetchWaitersMax int
	// TopicsMax and PartitionsMax bound the metadata tables.
	TopicsMax     int
	PartitionsMax int
	// ProducersPerPartitionMax bounds idempotent producer state per
	// partition; past it the longest-idle producer is forgotten.
	ProducersPerPartitionMax int
	// FetchBytesMax caps a fetch response regardless of the client's
	// MaxBytes (fetch.max.bytes).
	FetchBytesMax int32
	// DecompressedBatchBytesMax bounds the bytes a compressed batch may
	// expand to while it is validated.
	DecompressedBatchBytesMax int
	// TickMs is the period of housekeeping (segment roll by time,
	// flush.ms, retention, producer expiry).
	TickMs int64
	// StopTimeoutMs bounds a graceful stop's wait for the final flush.
	StopTimeoutMs int64

	// plant is a bug planted by a test (planted.go); zero: none.
	plant plantedBug
}

// DefaultConfig is a single-node broker with Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		ClusterID:                  "gregor-cluster",
		Port:                       9092,
		ControllerPort:             9093,
		ConnectionsMax:             1024,
		InFlightRequestsPerConnMax: 256,
		FetchWaitersMax:            4096,
		TopicsMax:                  10_000,
		PartitionsMax:              100_000,
		ProducersPerPartitionMax:   10_000,
		FetchBytesMax:              55 << 20,
		DecompressedBatchBytesMax:  256 << 20,
		TickMs:                     1000,
		StopTimeoutMs:              30_000,
	}
}

func (c Config) validate() error {
	var errs []error
	positive := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, v))
		}
	}
	positive("ConnectionsMax", int64(c.ConnectionsMax))
	positive("InFlightRequestsPerConnMax", int64(c.InFlightRequestsPerConnMax))
	positive("FetchWaitersMax", int64(c.FetchWaitersMax))
	positive("TopicsMax", int64(c.TopicsMax))
	positive("PartitionsMax", int64(c.PartitionsMax))
	positive("ProducersPerPartitionMax", int64(c.ProducersPerPartitionMax))
	positive("FetchBytesMax", int64(c.FetchBytesMax))
	positive("DecompressedBatchBytesMax", int64(c.DecompressedBatchBytesMax))
	positive("TickMs", c.TickMs)
	positive("StopTimeoutMs", c.StopTimeoutMs)
	if c.NodeID < 0 {
		errs = append(errs, fmt.Errorf("NodeID must be ≥ 0, got %d", c.NodeID))
	}
	if _, self := c.Voters[c.NodeID]; len(c.Voters) > 0 && !self {
		errs = append(errs, fmt.Errorf("node %d is not among the voters %v: every broker is a voter (combined mode)", c.NodeID, c.Voters))
	}
	if c.ControllerPort < 0 || c.ControllerPort > 65535 || (c.ControllerPort == c.Port && c.Port != 0) {
		errs = append(errs, fmt.Errorf("ControllerPort %d must be in 0..65535 and differ from Port", c.ControllerPort))
	}
	if c.Port < 0 || c.Port > 65535 || c.AdvertisedPort < 0 || c.AdvertisedPort > 65535 {
		errs = append(errs, fmt.Errorf("ports must be in 0..65535"))
	}
	return errors.Join(errs...)
}
