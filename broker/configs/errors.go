package configs

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrorKind says what was wrong with a configuration change.
type ErrorKind int8

const (
	// UnknownKey: the key is not a config of the resource.
	UnknownKey ErrorKind = iota + 1
	// InvalidValue: the value does not parse or fails its validator, or
	// values conflict (min.compaction.lag.ms > max.compaction.lag.ms).
	InvalidValue
	// ReadOnly: a broker config that cannot change at run time.
	ReadOnly
	// BadOp: APPEND or SUBTRACT on a key that is not a LIST.
	BadOp
	// BadRequest: malformed request (duplicate keys, null values, an
	// unknown operation).
	BadRequest
)

// Error is a rejected configuration change. Code and Message are what
// Kafka puts in the response's ErrorCode and ErrorMessage for the same
// change, so a handler copies them:
//
//	var ce *configs.Error
//	if errors.As(err, &ce) { r.ErrorCode, r.ErrorMessage = ce.Code.Code, &ce.Message }
type Error struct {
	Kind    ErrorKind
	Code    *kerr.Error // kerr.InvalidConfig or kerr.InvalidRequest
	Key     string      // the offending key; "" when the error is about several
	Message string
}

func (e *Error) Error() string { return e.Message }

// unknownTopicKey is Kafka's LogConfig.validateNames error.
func unknownTopicKey(key string) *Error {
	return &Error{Kind: UnknownKey, Code: kerr.InvalidConfig, Key: key, Message: "Unknown topic config name: " + key}
}

// unknownBrokerKey is gregor's own: Kafka accepts unknown ("custom")
// broker configs for plugins, gregor has no plugins and rejects them.
func unknownBrokerKey(key string) *Error {
	return &Error{Kind: UnknownKey, Code: kerr.InvalidConfig, Key: key, Message: "Unknown broker config name: " + key}
}

// invalidValue wraps a validator's message. Kafka answers a bad topic
// value with INVALID_CONFIG, but a bad broker value with INVALID_REQUEST
// (KAFKA-13609: the broker wraps the ConfigException).
func invalidValue(code *kerr.Error, key string, err error) *Error {
	return &Error{Kind: InvalidValue, Code: code, Key: key, Message: err.Error()}
}

// readOnly is DynamicBrokerConfig.validateConfigs' rejection, which Kafka
// also answers with INVALID_REQUEST; the keys print as a Scala Set.
func readOnly(keys []string) *Error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	key := ""
	if len(keys) == 1 {
		key = keys[0]
	}
	return &Error{
		Kind: ReadOnly, Code: kerr.InvalidRequest, Key: key,
		Message: "Cannot update these configs dynamically: Set(" + strings.Join(keys, ", ") + ")",
	}
}

func badRequest(message string) *Error {
	return &Error{Kind: BadRequest, Code: kerr.InvalidRequest, Message: message}
}
