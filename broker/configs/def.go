package configs

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Def describes one configuration key as Kafka defines it.
type Def struct {
	Name string
	Type kmsg.ConfigType

	// Default is the default in the string form DescribeConfigs shows.
	// HasDefault is false where Kafka's default is null: the key is then
	// simply unset (log.retention.ms) and a lower-priority synonym decides.
	Default    string
	HasDefault bool

	// Doc is a one-line description, returned when a DescribeConfigs
	// request asks for documentation.
	Doc string

	// Dynamic marks a broker config that AlterConfigs may change at run
	// time, per broker or as a cluster-wide default ("cluster-wide" in
	// Kafka's docs). Every other broker config is read-only. Topic
	// configs are always alterable and leave this false.
	Dynamic bool

	// ServerSynonyms (topic configs only) are the broker configs that
	// supply the value when the topic does not override it, highest
	// priority first, as Kafka's ServerTopicConfigSynonyms lists them.
	ServerSynonyms []ServerSynonym

	check validator
}

// ServerSynonym is a broker config standing in for a topic config.
type ServerSynonym struct {
	Name string
	// ScaleMs converts the synonym's unit to the topic config's
	// milliseconds: 0 means the value is used as it is, 3600000 that it
	// counts hours (log.retention.hours), 60000 minutes.
	ScaleMs int64
}

const (
	millisPerMinute = 60 * 1000
	millisPerHour   = 60 * millisPerMinute
)

// validator checks a parsed value. It returns the Kafka ConfigException
// text, which Kafka passes to the client unchanged.
type validator func(name string, v value) error

// value is a parsed configuration value; which field is meaningful
// depends on typ.
type value struct {
	typ  kmsg.ConfigType
	b    bool
	i    int64
	f    float64
	s    string // STRING, CLASS, PASSWORD
	list []string
}

// String renders v as Kafka's ConfigDef.convertToString does, which is
// what DescribeConfigs shows for a parsed value.
func (v value) String() string {
	switch v.typ {
	case kmsg.ConfigTypeBoolean:
		return strconv.FormatBool(v.b)
	case kmsg.ConfigTypeInt, kmsg.ConfigTypeShort, kmsg.ConfigTypeLong:
		return strconv.FormatInt(v.i, 10)
	case kmsg.ConfigTypeDouble:
		return javaDouble(v.f)
	case kmsg.ConfigTypeList:
		return strings.Join(v.list, ",")
	default:
		return v.s
	}
}

// invalid builds Kafka's ConfigException(name, value, message) text.
// Messages here are Kafka's, capitalised and punctuated as Kafka sends
// them, because clients show them to users verbatim.
func invalid(name string, shown any, message string) error {
	return fmt.Errorf("Invalid value %v for configuration %s: %s", shown, name, message)
}

// javaTrim trims as Java's String.trim does (every char <= ' '), which is
// what ConfigDef applies before parsing.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// listSpace is the \s class of the regexp (\s*,\s*) with which ConfigDef
// splits lists.
const listSpace = " \t\n\v\f\r"

// parse converts raw as ConfigDef.parseType does for d's type. Errors
// carry Kafka's message and show raw as it was given.
func (d *Def) parse(raw string) (value, error) {
	trimmed := javaTrim(raw)
	v := value{typ: d.Type}
	switch d.Type {
	case kmsg.ConfigTypeBoolean:
		switch {
		case strings.EqualFold(trimmed, "true"):
			v.b = true
		case strings.EqualFold(trimmed, "false"):
		default:
			return v, invalid(d.Name, raw, "Expected value to be either true or false")
		}
	case kmsg.ConfigTypeInt, kmsg.ConfigTypeShort, kmsg.ConfigTypeLong:
		i, err := strconv.ParseInt(trimmed, 10, intBits(d.Type))
		if err != nil {
			return v, invalid(d.Name, raw, "Not a number of type "+typeName(d.Type))
		}
		v.i = i
	case kmsg.ConfigTypeDouble:
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return v, invalid(d.Name, raw, "Not a number of type DOUBLE")
		}
		v.f = f
	case kmsg.ConfigTypeList:
		if trimmed != "" {
			v.list = strings.Split(trimmed, ",")
			for i, e := range v.list {
				v.list[i] = strings.Trim(e, listSpace)
			}
		}
	default:
		v.s = trimmed
	}
	return v, nil
}

// validate parses raw and applies d's validator.
func (d *Def) validate(raw string) (value, error) {
	v, err := d.parse(raw)
	if err == nil && d.check != nil {
		err = d.check(d.Name, v)
	}
	return v, err
}

// Normalize parses raw and renders it back as DescribeConfigs shows a
// parsed value ("compact, delete" → "compact,delete", " 10 " → "10"). A
// value that does not parse is returned unchanged.
func (d *Def) Normalize(raw string) string {
	v, err := d.parse(raw)
	if err != nil {
		return raw
	}
	return v.String()
}

// Validate reports whether raw is a valid value for d, with Kafka's
// message when it is not.
func (d *Def) Validate(raw string) error {
	_, err := d.validate(raw)
	return err
}

func intBits(t kmsg.ConfigType) int {
	switch t {
	case kmsg.ConfigTypeShort:
		return 16
	case kmsg.ConfigTypeInt:
		return 32
	default:
		return 64
	}
}

// typeName is the ConfigDef.Type name Kafka prints in parse errors.
func typeName(t kmsg.ConfigType) string {
	switch t {
	case kmsg.ConfigTypeShort:
		return "SHORT"
	case kmsg.ConfigTypeInt:
		return "INT"
	default:
		return "LONG"
	}
}

// javaDouble formats f as Java's Double.toString does ("0.5", "1.0",
// "1.0E-4"), so DOUBLE values read as Kafka shows them.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mantissa, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mantissa, ".") {
		mantissa += ".0"
	}
	e, err := strconv.Atoi(exp)
	if err != nil {
		return s
	}
	return mantissa + "E" + strconv.Itoa(e)
}

// javaList renders a list as Java's List.toString does ("[a, b]"), which
// some Kafka messages embed.
func javaList(list []string) string {
	return "[" + strings.Join(list, ", ") + "]"
}

// atLeast is ConfigDef.Range.atLeast for integer types.
func atLeast(min int64) validator {
	return func(name string, v value) error {
		if v.i < min {
			return invalid(name, v.i, fmt.Sprintf("Value must be at least %d", min))
		}
		return nil
	}
}

// between is ConfigDef.Range.between for integer types.
func between(min, max int64) validator {
	return func(name string, v value) error {
		if v.i < min {
			return invalid(name, v.i, fmt.Sprintf("Value must be at least %d", min))
		}
		if v.i > max {
			return invalid(name, v.i, fmt.Sprintf("Value must be no more than %d", max))
		}
		return nil
	}
}

// ratio is ConfigDef.Range.between(0, 1) on a DOUBLE. NaN passes, as it
// does in Kafka (every comparison with NaN is false).
func ratio(name string, v value) error {
	if v.f < 0 {
		return invalid(name, javaDouble(v.f), "Value must be at least 0")
	}
	if v.f > 1 {
		return invalid(name, javaDouble(v.f), "Value must be no more than 1")
	}
	return nil
}

// oneOf is ConfigDef.ValidString.in: case-sensitive.
func oneOf(allowed ...string) validator {
	return func(name string, v value) error {
		if !slices.Contains(allowed, v.s) {
			return invalid(name, v.s, "String must be one of: "+strings.Join(allowed, ", "))
		}
		return nil
	}
}

// listOf is ConfigDef.ValidList as Kafka 4.x defines it: no duplicate
// and no empty elements, each element in allowed (any, when allowed is
// empty), and an empty list only when emptyOK.
func listOf(emptyOK bool, allowed ...string) validator {
	return func(name string, v value) error {
		if !emptyOK && len(v.list) == 0 {
			valid := "any non-empty value"
			if len(allowed) > 0 {
				valid = "[" + strings.Join(allowed, ", ") + "]"
			}
			return fmt.Errorf("Configuration '%s' must not be empty. Valid values include: %s", name, valid)
		}
		for i, e := range v.list {
			if slices.Contains(v.list[:i], e) {
				return fmt.Errorf("Configuration '%s' values must not be duplicated.", name)
			}
		}
		for _, e := range v.list {
			if e == "" {
				return fmt.Errorf("Configuration '%s' values must not be empty.", name)
			}
			if len(allowed) > 0 && !slices.Contains(allowed, e) {
				return invalid(name, e, "String must be one of: "+strings.Join(allowed, ", "))
			}
		}
		return nil
	}
}

// gzipLevel is Kafka's GZIP level validator: 1–9, or -1 for the
// library default.
func gzipLevel(name string, v value) error {
	if v.i > 9 || (v.i < 1 && v.i != -1) {
		return invalid(name, v.i, "Value must be between 1 and 9 or equal to -1")
	}
	return nil
}

// throttledReplicas is Kafka's ThrottledReplicaListValidator: "*" or a
// list of partition:broker pairs.
func throttledReplicas(name string, v value) error {
	if strings.Join(v.list, "") == "*" {
		return nil
	}
	for _, e := range v.list {
		if e != "" && !isReplicaPair(e) {
			return invalid(name, javaList(v.list), name+" must be the literal '*' or a list of replicas "+
				"in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...")
		}
	}
	return nil
}

// isReplicaPair matches [0-9]+:[0-9]+.
func isReplicaPair(s string) bool {
	partition, broker, ok := strings.Cut(s, ":")
	return ok && allDigits(partition) && allDigits(broker)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
