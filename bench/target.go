package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Target is a system the benchmark runs against: something that, once set
// up, serves the Kafka protocol at a bootstrap list. A target may start
// processes, containers or in-process clusters in Setup and must stop them
// in Teardown.
type Target interface {
	// Name is the target's short name, used in result file names
	// (OMB's driver name): "kfake", "bootstrap", "synthetic", "gregor".
	Name() string
	// Setup starts the target and returns how to reach it and what it is.
	// It is called once before the runs against the target. A target that
	// cannot run on this machine (no Docker engine, an image that cannot
	// be had) returns a *SkipError saying why, with an Endpoint whose Info
	// says what it knows of itself so far: the skipped run's result
	// records it, so a report can still state what was not measured.
	Setup(ctx context.Context) (Endpoint, error)
	// Teardown stops what Setup started. It is safe to call after a failed
	// or missing Setup, and more than once.
	Teardown(ctx context.Context) error
}

// SkipError is what Setup returns when the target cannot run on this
// machine: no Docker engine, an image that is neither here nor pullable.
// A skipped run is reported as skipped with its reason, is not a failure,
// and no other target runs in its place: a benchmark never fakes a target.
// Find it with errors.As; RunTarget's errors wrap it.
type SkipError struct {
	// Reason says what is missing, e.g. "no Docker engine: …" or
	// "image confluentinc/confluent-local:7.5.0 not available: …".
	Reason string
}

// Skip returns a *SkipError with a formatted reason.
func Skip(format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...)}
}

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Endpoint is how to reach a set-up target, and what it is.
type Endpoint struct {
	// Bootstrap is the seed broker list, host:port.
	Bootstrap []string
	// ClientOptions are added to every benchmark client after the
	// benchmark's own: TLS, SASL, a dialer.
	ClientOptions []kgo.Opt
	// Info describes the target for the result's setup section.
	Info TargetInfo
	_    struct{} // disallow positional literals
}

// TargetInfo describes a target in a result, so that a report can say what
// was measured and how durable it was.
type TargetInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Brokers is the broker count; the runner fills it in from metadata
	// when a target leaves it 0.
	Brokers    int        `json:"brokers"`
	Durability Durability `json:"durability"`
	// BrokerConfigs are settings the target itself applied.
	BrokerConfigs map[string]string `json:"brokerConfigs,omitempty"`
	// Versions of the target's software.
	Versions map[string]string `json:"versions,omitempty"`
	// DataDir is where the target keeps its data, if on this machine;
	// the disk limit is measured there.
	DataDir string `json:"dataDir,omitempty"`
	// NoConsumerGroups says the target cannot serve consumer groups, so
	// consumers use direct assignment whatever the workload says.
	NoConsumerGroups bool `json:"noConsumerGroups,omitempty"`
}

// Durability says when a target's acknowledged records are safe, since
// throughput numbers mean little without it (Kafka's and Redpanda's dev
// containers do not fsync).
type Durability struct {
	// Fsync is when data is fsynced before or after the ack: "none",
	// "every batch before ack", "interval …", or "unknown".
	Fsync string `json:"fsync"`
	// Persistent is whether data survives a broker process restart.
	Persistent bool `json:"persistent"`
	// Replicated is whether acks=all waits for copies on other brokers.
	Replicated bool   `json:"replicated"`
	Notes      string `json:"notes,omitempty"`
}

// ParseTarget builds one of the targets this package implements from a
// command-line spec:
//
//	kfake                      franz-go's kfake in process, 3 brokers
//	kfake:brokers=1            … with 1 broker
//	bootstrap=host:port,…      an existing cluster
//	synthetic:ackDelay=20ms,stallAfter=10s,stallFor=500ms,brokers=1
//	                           kfake behind a listener that delays produce
//	                           acks and stalls all responses once
//
// The gregor target lives with the code that starts gregor.
func ParseTarget(spec string) (Target, error) {
	if addrs, ok := strings.CutPrefix(spec, "bootstrap="); ok {
		return NewBootstrapTarget(strings.Split(addrs, ","))
	}
	name, args, _ := strings.Cut(spec, ":")
	params, err := parseParams(args)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", spec, err)
	}
	switch name {
	case "kfake":
		var cfg KfakeConfig
		if cfg.Brokers, err = params.int("brokers", 3); err != nil {
			return nil, fmt.Errorf("target %q: %w", spec, err)
		}
		return NewKfakeTarget(cfg), params.unused(spec)
	case "synthetic":
		var cfg SyntheticConfig
		var stall Stall
		if cfg.Brokers, err = params.int("brokers", 1); err == nil {
			if cfg.AckDelay, err = params.duration("ackDelay"); err == nil {
				if stall.After, err = params.duration("stallAfter"); err == nil {
					stall.For, err = params.duration("stallFor")
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", spec, err)
		}
		if stall.For > 0 {
			cfg.Stalls = []Stall{stall}
		}
		return NewSyntheticTarget(cfg), params.unused(spec)
	}
	return nil, fmt.Errorf("target %q: unknown; want kfake, bootstrap=host:port,…, or synthetic", spec)
}

type params map[string]string

func parseParams(s string) (params, error) {
	p := params{}
	if s == "" {
		return p, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("parameter %q is not key=value", kv)
		}
		p[k] = v
	}
	return p, nil
}

func (p params) int(key string, def int) (int, error) {
	s, ok := p[key]
	if !ok {
		return def, nil
	}
	delete(p, key)
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 64 {
		return 0, fmt.Errorf("%s=%q: want 1..64", key, s)
	}
	return n, nil
}

func (p params) duration(key string) (time.Duration, error) {
	s, ok := p[key]
	if !ok {
		return 0, nil
	}
	delete(p, key)
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 20ms", key, s)
	}
	return d, nil
}

func (p params) unused(spec string) error {
	for k := range p { //gregor:unordered-ok any one is enough for the message
		return fmt.Errorf("target %q: unknown parameter %q", spec, k)
	}
	return nil
}

// BootstrapTarget is an existing cluster at a bootstrap list. The benchmark
// neither starts nor configures it; its durability is what the cluster
// reports.
type BootstrapTarget struct {
	addrs []string
	opts  []kgo.Opt
}

// NewBootstrapTarget returns a target for the cluster at addrs (host:port
// each). opts are added to every client (TLS, SASL).
func NewBootstrapTarget(addrs []string, opts ...kgo.Opt) (*BootstrapTarget, error) {
	var clean []string
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("bootstrap address %q: %w", a, err)
		}
		clean = append(clean, a)
	}
	if len(clean) == 0 {
		return nil, fmt.Errorf("bootstrap: no addresses")
	}
	return &BootstrapTarget{addrs: clean, opts: opts}, nil
}

// Name is "bootstrap".
func (t *BootstrapTarget) Name() string { return "bootstrap" }

// Setup returns the bootstrap list; it starts nothing.
func (t *BootstrapTarget) Setup(context.Context) (Endpoint, error) {
	return Endpoint{
		Bootstrap:     t.addrs,
		ClientOptions: t.opts,
		Info: TargetInfo{
			Name:        t.Name(),
			Description: "an existing cluster at " + strings.Join(t.addrs, ","),
			Durability: Durability{
				Fsync: "unknown",
				Notes: "not controlled by the benchmark; see brokerConfigs (log.flush.*) as the cluster reports them",
			},
		},
	}, nil
}

// Teardown does nothing: the cluster is not ours.
func (t *BootstrapTarget) Teardown(context.Context) error { return nil }
