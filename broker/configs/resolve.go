package configs

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Layers are the configuration layers a value is resolved through, in
// Kafka's precedence. Broker resolution (ResolveBroker, DescribeBroker,
// BrokerSettingsOf) ignores Topic.
type Layers struct {
	Topic          Set // the topic's overrides: DYNAMIC_TOPIC_CONFIG
	Broker         Set // this broker's dynamic configs (resource name = its id): DYNAMIC_BROKER_CONFIG
	ClusterDefault Set // cluster-wide dynamic defaults (resource name ""): DYNAMIC_DEFAULT_BROKER_CONFIG
	Static         Set // what the broker started with: STATIC_BROKER_CONFIG
}

// Entry is one resolved config as a DescribeConfigs (or CreateTopics)
// response carries it.
type Entry struct {
	Name string
	// Value is nil when the config has no value (a null default such as
	// log.retention.ms) or is sensitive.
	Value         *string
	Source        kmsg.ConfigSource
	ReadOnly      bool
	Sensitive     bool
	Type          kmsg.ConfigType
	Documentation string
	// Synonyms are the places the value could come from that are set,
	// highest precedence first, as Kafka lists them with includeSynonyms.
	// Handlers drop them when the request did not ask for them.
	Synonyms []Synonym
}

// Synonym is one set layer of a config or of one of its synonyms.
type Synonym struct {
	Name   string
	Value  *string
	Source kmsg.ConfigSource
}

// sourcedSet is a layer paired with the source it reports.
type sourcedSet struct {
	set    Set
	source kmsg.ConfigSource
}

// brokerLayers are l's broker layers in precedence order.
func (l Layers) brokerLayers() [3]sourcedSet {
	return [3]sourcedSet{
		{l.Broker, kmsg.ConfigSourceDynamicBrokerConfig},
		{l.ClusterDefault, kmsg.ConfigSourceDynamicDefaultBrokerConfig},
		{l.Static, kmsg.ConfigSourceStaticBrokerConfig},
	}
}

// brokerDefaults is the DEFAULT_CONFIG layer: every broker default that
// is not null. It is a Set so that it resolves like the other layers.
var brokerDefaults = func() Set {
	var s Set
	for i := range brokerDefs {
		if d := &brokerDefs[i]; d.HasDefault {
			s = s.With(d.Name, d.Default)
		}
	}
	return s
}()

func strPtr(s string) *string { return &s }

// effectiveTopic resolves a topic config as Kafka's controller does
// (KafkaConfigSchema.resolveEffectiveTopicConfig): the override, then in
// each broker layer the synonyms in order (converted to milliseconds where
// they count hours or minutes), then the topic default. It returns the
// value as stored, whether there is one, and where it came from.
func effectiveTopic(d *Def, l Layers) (raw string, ok bool, source kmsg.ConfigSource) {
	if v, ok := l.Topic.Get(d.Name); ok {
		return v, true, kmsg.ConfigSourceDynamicTopicConfig
	}
	for _, layer := range l.brokerLayers() {
		for _, s := range d.ServerSynonyms {
			if v, ok := layer.set.Get(s.Name); ok {
				return s.scaled(v), true, layer.source
			}
		}
	}
	return d.Default, d.HasDefault, kmsg.ConfigSourceDefaultConfig
}

// effectiveBroker resolves a broker config's own value (not its
// synonyms'): this broker's dynamic value, the cluster default, the static
// value, the default.
func effectiveBroker(d *Def, l Layers) (raw string, ok bool, source kmsg.ConfigSource) {
	for _, layer := range l.brokerLayers() {
		if v, ok := layer.set.Get(d.Name); ok {
			return v, true, layer.source
		}
	}
	return d.Default, d.HasDefault, kmsg.ConfigSourceDefaultConfig
}

// brokerSynonyms lists, as Kafka's ConfigHelper.configSynonyms does, every
// set occurrence of name's synonym chain: all of this broker's dynamic
// ones, then the cluster default ones, the static ones and the defaults.
// Like Kafka it then drops everything before the first occurrence of name
// itself, so a chain whose head is unset anywhere (retention.ms with only
// log.retention.hours set) lists nothing and reports DEFAULT_CONFIG.
func brokerSynonyms(name string, l Layers, sensitive bool) []Synonym {
	chain := brokerChain(name)
	layers := l.brokerLayers()
	var out []Synonym
	for _, layer := range append(layers[:], sourcedSet{brokerDefaults, kmsg.ConfigSourceDefaultConfig}) {
		for _, n := range chain {
			if v, ok := layer.set.Get(n); ok {
				s := Synonym{Name: n, Source: layer.source}
				if !sensitive {
					s.Value = strPtr(v)
				}
				out = append(out, s)
			}
		}
	}
	for len(out) > 0 && out[0].Name != name {
		out = out[1:]
	}
	return out
}

func newEntry(d *Def) Entry {
	return Entry{
		Name:          d.Name,
		Type:          d.Type,
		Sensitive:     d.Type == kmsg.ConfigTypePassword,
		Documentation: d.Doc,
	}
}

// sourceOf is Kafka's rule: the first synonym's source, or DEFAULT_CONFIG.
func sourceOf(syns []Synonym) kmsg.ConfigSource {
	if len(syns) == 0 {
		return kmsg.ConfigSourceDefaultConfig
	}
	return syns[0].Source
}

// describeTopic builds a topic config's DescribeConfigs entry as Kafka's
// ConfigHelper.createTopicConfigEntry does.
func describeTopic(d *Def, l Layers) Entry {
	e := newEntry(d)
	if raw, ok, _ := effectiveTopic(d, l); ok && !e.Sensitive {
		e.Value = strPtr(d.Normalize(raw))
	}
	if l.Topic.Has(d.Name) {
		e.Synonyms = append(e.Synonyms, Synonym{Name: d.Name, Value: e.Value, Source: kmsg.ConfigSourceDynamicTopicConfig})
	}
	if len(d.ServerSynonyms) > 0 {
		e.Synonyms = append(e.Synonyms, brokerSynonyms(d.ServerSynonyms[0].Name, l, e.Sensitive)...)
	}
	e.Source = sourceOf(e.Synonyms)
	return e
}

// describeBroker builds a broker config's DescribeConfigs entry for a
// per-broker request as ConfigHelper.createBrokerConfigEntry does.
func describeBroker(d *Def, l Layers) Entry {
	e := newEntry(d)
	if raw, ok, _ := effectiveBroker(d, l); ok && !e.Sensitive {
		e.Value = strPtr(d.Normalize(raw))
	}
	e.Synonyms = brokerSynonyms(d.Name, l, e.Sensitive)
	e.Source = sourceOf(e.Synonyms)
	e.ReadOnly = !d.Dynamic
	return e
}

// ResolveTopic resolves one topic config as DescribeConfigs reports it.
// It returns false for a name that is not a topic config.
func ResolveTopic(l Layers, key string) (Entry, bool) {
	d, ok := TopicDef(key)
	if !ok {
		return Entry{}, false
	}
	return describeTopic(d, l), true
}

// ResolveBroker resolves one broker config as DescribeConfigs reports it
// for the broker's own resource (name = its id). It returns false for a
// name that is not a broker config.
func ResolveBroker(l Layers, key string) (Entry, bool) {
	d, ok := BrokerDef(key)
	if !ok {
		return Entry{}, false
	}
	return describeBroker(d, l), true
}

// wanted is DescribeConfigs' key filter: no keys means all of them, and
// names that are not configs are ignored, as Kafka does.
func wanted(keys []string, name string) bool {
	return len(keys) == 0 || slices.Contains(keys, name)
}

// DescribeTopic answers DescribeConfigs for a topic: the configs named in
// keys (all when keys is empty; unknown names are ignored, as Kafka does),
// sorted by name.
func DescribeTopic(l Layers, keys []string) []Entry {
	var out []Entry
	for _, d := range TopicDefs() {
		if wanted(keys, d.Name) {
			out = append(out, describeTopic(d, l))
		}
	}
	return out
}

// DescribeBroker answers DescribeConfigs for the broker's own resource
// (resource name = its id): every broker config, or the ones named in
// keys, sorted by name.
func DescribeBroker(l Layers, keys []string) []Entry {
	var out []Entry
	for _, d := range BrokerDefs() {
		if wanted(keys, d.Name) {
			out = append(out, describeBroker(d, l))
		}
	}
	return out
}

// DescribeClusterDefault answers DescribeConfigs for the cluster-default
// broker resource (resource name ""). Like Kafka it lists only the keys
// set at that level, with their values as stored, and only synonyms from
// that level.
func DescribeClusterDefault(clusterDefault Set, keys []string) []Entry {
	var out []Entry
	for key, raw := range clusterDefault.All() {
		d, ok := BrokerDef(key)
		if !ok || !wanted(keys, key) {
			continue
		}
		e := newEntry(d)
		if !e.Sensitive {
			e.Value = strPtr(raw)
		}
		for _, s := range brokerSynonyms(key, Layers{ClusterDefault: clusterDefault}, e.Sensitive) {
			if s.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig {
				e.Synonyms = append(e.Synonyms, s)
			}
		}
		e.Source = sourceOf(e.Synonyms)
		e.ReadOnly = !d.Dynamic
		out = append(out, e)
	}
	return out
}

// CreatedTopicConfigs are the configs a CreateTopics response (v5+)
// returns for a new topic, sorted by name. Kafka's controller resolves
// these itself (KafkaConfigSchema), which differs from DescribeConfigs in
// two ways kept here: values are shown as stored (an override " 10 " stays
// " 10 "), and the source is the layer the value came from even when that
// is a unit variant (static log.retention.hours=24 gives retention.ms
// 86400000 from STATIC_BROKER_CONFIG, where DescribeConfigs says
// DEFAULT_CONFIG). Synonyms and documentation are not part of it.
func CreatedTopicConfigs(l Layers) []Entry {
	out := make([]Entry, 0, len(topicDefs))
	for _, d := range TopicDefs() {
		e := newEntry(d)
		e.Documentation = ""
		raw, ok, source := effectiveTopic(d, l)
		if ok && !e.Sensitive {
			e.Value = strPtr(raw)
		}
		e.Source = source
		out = append(out, e)
	}
	return out
}

// String renders e for tests and logs: name=value (SOURCE) [synonyms].
func (e Entry) String() string {
	var b strings.Builder
	b.WriteString(e.Name)
	b.WriteByte('=')
	b.WriteString(deref(e.Value))
	b.WriteString(" (")
	b.WriteString(e.Source.String())
	b.WriteByte(')')
	if len(e.Synonyms) > 0 {
		b.WriteString(" [")
		for i, s := range e.Synonyms {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.Source.String())
			b.WriteByte(':')
			b.WriteString(s.Name)
			b.WriteByte('=')
			b.WriteString(deref(s.Value))
		}
		b.WriteByte(']')
	}
	return b.String()
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
