package configs

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Set is a group of configuration values, key → value as it was given
// (Kafka keeps the client's string, not a normalised one), kept sorted by
// key so iterating it is deterministic. One Set holds one layer: a topic's
// overrides, a broker's dynamic configs, the cluster-wide dynamic
// defaults, or the static configs a broker started with.
//
// The zero Set is empty. Sets are values: With and Without return a new
// Set and leave the receiver (and anything sharing it) unchanged.
type Set struct {
	kvs []kv
}

type kv struct{ key, value string }

// SetOf builds a Set from a map.
func SetOf(m map[string]string) Set {
	var s Set
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s.kvs = append(s.kvs, kv{k, m[k]})
	}
	return s
}

// Len is the number of keys in s.
func (s Set) Len() int { return len(s.kvs) }

func (s Set) find(key string) (int, bool) {
	return slices.BinarySearchFunc(s.kvs, key, func(e kv, k string) int { return strings.Compare(e.key, k) })
}

// Get returns the value of key and whether s holds it.
func (s Set) Get(key string) (string, bool) {
	i, ok := s.find(key)
	if !ok {
		return "", false
	}
	return s.kvs[i].value, true
}

// Has reports whether s holds key.
func (s Set) Has(key string) bool {
	_, ok := s.find(key)
	return ok
}

// With returns s with key set to value.
func (s Set) With(key, value string) Set {
	i, ok := s.find(key)
	out := make([]kv, 0, len(s.kvs)+1)
	out = append(out, s.kvs[:i]...)
	out = append(out, kv{key, value})
	if ok {
		i++
	}
	return Set{kvs: append(out, s.kvs[i:]...)}
}

// Without returns s without key.
func (s Set) Without(key string) Set {
	i, ok := s.find(key)
	if !ok {
		return s
	}
	out := make([]kv, 0, len(s.kvs)-1)
	out = append(out, s.kvs[:i]...)
	return Set{kvs: append(out, s.kvs[i+1:]...)}
}

// All yields the keys and values of s in key order.
func (s Set) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, e := range s.kvs {
			if !yield(e.key, e.value) {
				return
			}
		}
	}
}

// Keys returns the keys of s in order.
func (s Set) Keys() []string {
	out := make([]string, len(s.kvs))
	for i, e := range s.kvs {
		out[i] = e.key
	}
	return out
}

// Map returns a copy of s as a map.
func (s Set) Map() map[string]string {
	m := make(map[string]string, len(s.kvs))
	for _, e := range s.kvs {
		m[e.key] = e.value
	}
	return m
}

// Equal reports whether s and o hold the same keys and values.
func (s Set) Equal(o Set) bool { return slices.Equal(s.kvs, o.kvs) }

// String renders s as "k1=v1,k2=v2", for logs and test failures.
func (s Set) String() string {
	var b strings.Builder
	for i, e := range s.kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.key)
		b.WriteByte('=')
		b.WriteString(e.value)
	}
	return b.String()
}

// ParseAssignment splits one "key=value" argument, as given to
// `gregor broker --config key=value`. The value is everything after the
// first '=', so it may itself hold '=' (listeners of SASL configs do) and
// may be empty; the key may not.
func ParseAssignment(arg string) (key, value string, err error) {
	key, value, ok := strings.Cut(arg, "=")
	if !ok {
		return "", "", fmt.Errorf("config %q: want key=value", arg)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return "", "", fmt.Errorf("config %q: empty key before '='", arg)
	}
	return key, value, nil
}

// ParseStatic builds a broker's static configs (STATIC_BROKER_CONFIG)
// from key=value arguments: each key must be a broker config, each value
// valid for it, and no key may repeat. It then completes the configs as
// StaticBroker does.
func ParseStatic(args []string) (Set, error) {
	var s Set
	for _, arg := range args {
		key, value, err := ParseAssignment(arg)
		if err != nil {
			return Set{}, err
		}
		if s.Has(key) {
			return Set{}, fmt.Errorf("config %q: %s given twice", arg, key)
		}
		s = s.With(key, value)
	}
	return StaticBroker(s)
}

// StaticBroker validates the configs a broker starts with and completes
// them as Kafka's KafkaConfig does: broker.id and node.id are synonyms, so
// when only one is given the other takes its value, and when both are
// given they must agree. Read-only configs are allowed here: this is where
// they are set.
func StaticBroker(s Set) (Set, error) {
	for key, value := range s.All() {
		d, ok := BrokerDef(key)
		if !ok {
			return Set{}, unknownBrokerKey(key)
		}
		if err := d.Validate(value); err != nil {
			return Set{}, invalidValue(kerr.InvalidConfig, key, err)
		}
	}
	brokerID, hasBrokerID := s.Get("broker.id")
	nodeID, hasNodeID := s.Get("node.id")
	switch {
	case hasBrokerID && !hasNodeID:
		s = s.With("node.id", brokerID)
	case hasNodeID && !hasBrokerID:
		s = s.With("broker.id", nodeID)
	case hasBrokerID && hasNodeID && brokerIndex["broker.id"].Normalize(brokerID) != brokerIndex["node.id"].Normalize(nodeID):
		return Set{}, &Error{
			Kind: InvalidValue, Code: kerr.InvalidConfig, Key: "node.id",
			Message: fmt.Sprintf("node.id (%s) and broker.id (%s) must be equal: they name the same node", nodeID, brokerID),
		}
	}
	return s, nil
}
