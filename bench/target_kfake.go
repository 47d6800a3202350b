package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KfakeConfig configures a kfake target.
type KfakeConfig struct {
	// Brokers is the broker count; 0 means 3.
	Brokers int
	// Options are passed to kfake.NewCluster after the target's own.
	Options []kfake.Opt
	_       struct{} // disallow positional literals
}

// KfakeTarget is franz-go's kfake, a fake Kafka cluster, in this process.
// It keeps everything in memory and answers acks after an in-memory
// append: a ceiling for what the client and the loopback can do, not a
// broker to compare durability with.
type KfakeTarget struct {
	cfg KfakeConfig

	mu      sync.Mutex
	cluster *kfake.Cluster
}

// NewKfakeTarget returns a kfake target.
func NewKfakeTarget(cfg KfakeConfig) *KfakeTarget {
	if cfg.Brokers == 0 {
		cfg.Brokers = 3
	}
	return &KfakeTarget{cfg: cfg}
}

// Name is "kfake".
func (t *KfakeTarget) Name() string { return "kfake" }

// Setup starts the cluster on random loopback ports.
func (t *KfakeTarget) Setup(context.Context) (Endpoint, error) {
	cluster, err := startKfake(t.cfg.Brokers, t.cfg.Options)
	if err != nil {
		return Endpoint{}, err
	}
	t.mu.Lock()
	t.cluster = cluster
	t.mu.Unlock()
	return Endpoint{
		Bootstrap: cluster.ListenAddrs(),
		Info: TargetInfo{
			Name:        t.Name(),
			Description: fmt.Sprintf("franz-go kfake, %d brokers in process, in memory", t.cfg.Brokers),
			Brokers:     t.cfg.Brokers,
			Durability:  kfakeDurability(),
			Versions:    map[string]string{"kfake": moduleVersion("kfake")},
		},
	}, nil
}

// Teardown closes the cluster.
func (t *KfakeTarget) Teardown(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cluster != nil {
		t.cluster.Close()
		t.cluster = nil
	}
	return nil
}

func startKfake(brokers int, extra []kfake.Opt) (*kfake.Cluster, error) {
	if brokers < 1 || brokers > 64 {
		return nil, fmt.Errorf("kfake: brokers must be 1..64, got %d", brokers)
	}
	opts := append([]kfake.Opt{kfake.NumBrokers(brokers)}, extra...)
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	return cluster, nil
}

func kfakeDurability() Durability {
	return Durability{
		Fsync: "none",
		Notes: "in-memory fake: acks follow an in-memory append; no data survives the process and no replica copies are made",
	}
}
