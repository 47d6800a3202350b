package broker

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handler serves one decoded request. It answers through r.respond, now
// or later (a fetch waiting for data), exactly once.
type handler func(b *Broker, r *request)

// versionRange is what the broker serves of one API key, and who serves it.
type versionRange struct {
	key      int16
	min, max int16
	serve    handler
}

// registry holds every API key the broker serves, registered by the file
// that implements it (one file per API: 18_api_versions.go, …). ApiVersions
// answers from it, and decoding rejects what it does not hold, so the
// broker never advertises an API it does not serve.
var registry = map[int16]versionRange{}

// regKey registers an API key's version range. Each API file calls it from
// init; a duplicate or an impossible range is a programming error.
func regKey(key, min, max int16, serve handler) {
	if _, dup := registry[key]; dup {
		panic(fmt.Sprintf("broker: api key %d registered twice", key))
	}
	req := kmsg.RequestForKey(key)
	if req == nil || serve == nil || min < 0 || min > max || max > req.MaxVersion() {
		panic(fmt.Sprintf("broker: bad registration for api key %d: v%d–v%d", key, min, max))
	}
	registry[key] = versionRange{key: key, min: min, max: max, serve: serve}
}

// supported reports whether the broker serves key at version.
func supported(key, version int16) bool {
	r, ok := registry[key]
	return ok && version >= r.min && version <= r.max
}

// apiKeys lists the registry in key order, as ApiVersions returns it.
func apiKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]int16, 0, len(registry))
	for k := range registry { //gregor:unordered-ok sorted below
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]kmsg.ApiVersionsResponseApiKey, len(keys))
	for i, k := range keys {
		r := registry[k]
		out[i] = kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: r.min, MaxVersion: r.max}
	}
	return out
}

// dispatch hands a decoded request to its API's handler. Until the broker
// is ready (registered, caught up, unfenced) only ApiVersions is served;
// the rest wait, one per connection at most, so the wait is bounded by
// ConnectionsMax.
func (b *Broker) dispatch(r *request) {
	if !b.ready && r.h.Key != apiVersionsKey {
		b.parked = append(b.parked, r)
		return
	}
	registry[r.h.Key].serve(b, r)
}
