package configs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Op is one IncrementalAlterConfigs operation on one key. Value is nil
// where the request's value is null, which only DELETE allows.
type Op struct {
	Key   string
	Op    kmsg.IncrementalAlterConfigOp
	Value *string
}

// Assignment is one key of a legacy AlterConfigs or a CreateTopics
// request. Value is nil where the request's value is null.
type Assignment struct {
	Key   string
	Value *string
}

// AlterTopic applies IncrementalAlterConfigs operations to a topic's
// overrides, as Kafka's controller does, and validates the result against
// l (whose Topic layer is ignored: current is the topic's layer). Sets
// are values, so current is unchanged whatever happens.
//
// SET and DELETE replace and remove a key (deleting an absent key is not
// an error). APPEND and SUBTRACT work on LIST configs only, starting from
// the override or else the topic default: APPEND adds each
// comma-separated value not already present, SUBTRACT removes one
// occurrence of each.
func AlterTopic(current Set, ops []Op, l Layers) (Set, error) {
	if err := checkOps(ops); err != nil {
		return Set{}, err
	}
	next := current
	for _, op := range ops {
		var err error
		if next, err = applyOp(next, op, topicListDef); err != nil {
			return Set{}, err
		}
	}
	if err := ValidateTopic(next, l); err != nil {
		return Set{}, err
	}
	return next, nil
}

// ReplaceTopic is legacy AlterConfigs on a topic: configs become the
// topic's whole override set (keys not named are deleted), validated
// against l.
func ReplaceTopic(configs []Assignment, l Layers) (Set, error) {
	s, err := replacement(configs)
	if err != nil {
		return Set{}, err
	}
	if err := ValidateTopic(s, l); err != nil {
		return Set{}, err
	}
	return s, nil
}

// CreateTopic validates the configs of a CreateTopics request and returns
// the new topic's overrides. Unlike the alter requests, a repeated key is
// not an error (the last one wins) and a null value is INVALID_CONFIG,
// as Kafka's controller has it.
func CreateTopic(configs []Assignment, l Layers) (Set, error) {
	var s Set
	var nulls []string
	for _, c := range configs {
		if c.Value == nil {
			nulls = append(nulls, c.Key)
			continue
		}
		s = s.With(c.Key, *c.Value)
	}
	if len(nulls) > 0 {
		return Set{}, &Error{
			Kind: BadRequest, Code: kerr.InvalidConfig,
			Message: "Null value not supported for topic configs: " + strings.Join(nulls, ","),
		}
	}
	if err := ValidateTopic(s, l); err != nil {
		return Set{}, err
	}
	return s, nil
}

// ValidateTopicValue checks one topic config: an unknown key or a bad
// value is an *Error with Kafka's INVALID_CONFIG message.
func ValidateTopicValue(key, value string) error {
	d, ok := TopicDef(key)
	if !ok {
		return unknownTopicKey(key)
	}
	if err := d.Validate(value); err != nil {
		return invalidValue(kerr.InvalidConfig, key, err)
	}
	return nil
}

// ValidateBrokerValue checks one broker config's key and value (not
// whether it is dynamic). The *Error carries INVALID_REQUEST for a bad
// value, as Kafka answers a broker AlterConfigs.
func ValidateBrokerValue(key, value string) error {
	d, ok := BrokerDef(key)
	if !ok {
		return unknownBrokerKey(key)
	}
	if err := d.Validate(value); err != nil {
		return invalidValue(kerr.InvalidRequest, key, err)
	}
	return nil
}

// ValidateTopic checks a topic's whole override set as Kafka's
// LogConfig.validate does: every key a topic config ("Unknown topic config
// name: X"), every value valid (checked in Kafka's definition order, so
// the same one is reported), then the checks across keys, which see the
// broker defaults from l for keys the topic does not override.
func ValidateTopic(overrides Set, l Layers) error {
	for key := range overrides.All() {
		if _, ok := TopicDef(key); !ok {
			return unknownTopicKey(key)
		}
	}
	for i := range topicDefs {
		d := &topicDefs[i]
		if raw, ok := overrides.Get(d.Name); ok {
			if err := d.Validate(raw); err != nil {
				return invalidValue(kerr.InvalidConfig, d.Name, err)
			}
		}
	}
	l.Topic = overrides
	return validateTopicAcrossKeys(l)
}

// validateTopicAcrossKeys holds Kafka's checks that involve several keys.
func validateTopicAcrossKeys(l Layers) error {
	t, err := TopicSettingsOf(l)
	if err != nil {
		return &Error{Kind: InvalidValue, Code: kerr.InvalidConfig, Message: err.Error()}
	}
	if t.MinCompactionLagMs > t.MaxCompactionLagMs {
		return &Error{
			Kind: InvalidValue, Code: kerr.InvalidConfig,
			Message: fmt.Sprintf("conflict topic config setting min.compaction.lag.ms (%d) > max.compaction.lag.ms (%d)",
				t.MinCompactionLagMs, t.MaxCompactionLagMs),
		}
	}
	// gregor is a Kafka broker with remote.log.storage.system.enable=false,
	// which is how Kafka itself rejects tiered storage on a topic.
	if v, ok := l.Topic.Get("remote.storage.enable"); ok && topicIndex["remote.storage.enable"].Normalize(v) == "true" {
		return &Error{
			Kind: InvalidValue, Code: kerr.InvalidConfig, Key: "remote.storage.enable",
			Message: "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.",
		}
	}
	return nil
}

// AlterBroker applies IncrementalAlterConfigs operations to one broker
// layer (a broker's dynamic configs, or the cluster defaults) and
// validates the result. Kafka answers most broker errors with
// INVALID_REQUEST rather than INVALID_CONFIG; the returned *Error carries
// the code Kafka uses.
func AlterBroker(current Set, ops []Op) (Set, error) {
	if err := checkOps(ops); err != nil {
		return Set{}, err
	}
	next := current
	for _, op := range ops {
		var err error
		if next, err = applyOp(next, op, brokerListDef); err != nil {
			return Set{}, err
		}
	}
	if err := ValidateDynamicBroker(next); err != nil {
		return Set{}, err
	}
	return next, nil
}

// ReplaceBroker is legacy AlterConfigs on a broker resource: configs
// become the layer's whole content.
func ReplaceBroker(configs []Assignment) (Set, error) {
	s, err := replacement(configs)
	if err != nil {
		return Set{}, err
	}
	if err := ValidateDynamicBroker(s); err != nil {
		return Set{}, err
	}
	return s, nil
}

// ValidateDynamicBroker checks a dynamic broker layer as Kafka's
// DynamicBrokerConfig.validateConfigs does: no read-only key (all of them
// named in one error), then every key known and every value valid.
func ValidateDynamicBroker(s Set) error {
	var fixed []string
	for key := range s.All() {
		if d, ok := BrokerDef(key); ok && !d.Dynamic {
			fixed = append(fixed, key)
		}
	}
	if len(fixed) > 0 {
		return readOnly(fixed)
	}
	for key, raw := range s.All() {
		if err := ValidateBrokerValue(key, raw); err != nil {
			return err
		}
	}
	return nil
}

// checkOps is the request-level check Kafka's ConfigAdminManager makes
// before anything else: each key at most once, no null value except for
// DELETE, and known operations.
func checkOps(ops []Op) error {
	var nulls []string
	for i, op := range ops {
		if slices.ContainsFunc(ops[:i], func(o Op) bool { return o.Key == op.Key }) {
			return badRequest("Error due to duplicate config keys")
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete,
			kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		default:
			return badRequest(fmt.Sprintf("Unknown operations type %d", int8(op.Op)))
		}
		if op.Value == nil && op.Op != kmsg.IncrementalAlterConfigOpDelete {
			nulls = append(nulls, op.Key)
		}
	}
	if len(nulls) > 0 {
		return badRequest("Null value not supported for : " + strings.Join(nulls, ", "))
	}
	return nil
}

// replacement builds the new layer of a legacy AlterConfigs request,
// with the same request-level checks.
func replacement(configs []Assignment) (Set, error) {
	var s Set
	var nulls []string
	for _, c := range configs {
		if s.Has(c.Key) {
			return Set{}, badRequest("Error due to duplicate config keys")
		}
		if c.Value == nil {
			nulls = append(nulls, c.Key)
			continue
		}
		s = s.With(c.Key, *c.Value)
	}
	if len(nulls) > 0 {
		return Set{}, badRequest("Null value not supported for : " + strings.Join(nulls, ", "))
	}
	return s, nil
}

// listDefFunc finds the LIST definition an APPEND or SUBTRACT works on,
// or returns the error the resource type answers with.
type listDefFunc func(op Op) (*Def, error)

// topicListDef: Kafka's controller rejects APPEND/SUBTRACT on anything
// not a LIST, unknown keys included, with this message.
func topicListDef(op Op) (*Def, error) {
	d, ok := TopicDef(op.Key)
	if !ok || d.Type != kmsg.ConfigTypeList {
		return nil, &Error{
			Kind: BadOp, Code: kerr.InvalidConfig, Key: op.Key,
			Message: fmt.Sprintf("Can't %s to key %s because its type is not LIST.", op.Op, op.Key),
		}
	}
	return d, nil
}

// brokerListDef: for broker resources Kafka's broker checks first, with
// its own message.
func brokerListDef(op Op) (*Def, error) {
	d, ok := BrokerDef(op.Key)
	if !ok {
		return nil, unknownBrokerKey(op.Key)
	}
	if d.Type != kmsg.ConfigTypeList {
		return nil, &Error{
			Kind: BadOp, Code: kerr.InvalidConfig, Key: op.Key,
			Message: fmt.Sprintf("Config value %s is not allowed for config key: %s", strings.ToLower(op.Op.String()), op.Key),
		}
	}
	return d, nil
}

// applyOp applies one checked operation to s.
func applyOp(s Set, op Op, listDef listDefFunc) (Set, error) {
	switch op.Op {
	case kmsg.IncrementalAlterConfigOpSet:
		return s.With(op.Key, *op.Value), nil
	case kmsg.IncrementalAlterConfigOpDelete:
		return s.Without(op.Key), nil
	}
	d, err := listDef(op)
	if err != nil {
		return s, err
	}
	old, ok := s.Get(op.Key)
	if !ok {
		old = d.Default
	}
	var parts []string
	for _, p := range strings.Split(old, ",") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	for _, v := range javaSplitComma(*op.Value) {
		if op.Op == kmsg.IncrementalAlterConfigOpAppend {
			if !slices.Contains(parts, v) {
				parts = append(parts, v)
			}
		} else if i := slices.Index(parts, v); i >= 0 {
			parts = slices.Delete(parts, i, i+1)
		}
	}
	return s.With(op.Key, strings.Join(parts, ",")), nil
}

// javaSplitComma splits as Java's s.split(",") does, which Kafka applies
// to an APPEND or SUBTRACT value: trailing empty strings are dropped, but
// a string without a comma is returned whole, even when empty.
func javaSplitComma(s string) []string {
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
