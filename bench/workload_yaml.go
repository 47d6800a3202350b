package bench

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes a YAML mapping into the struct dst points to, field
// by field, so that every error names its field and line. It is yaml's
// KnownFields(true) with better messages: yaml's own type errors say
// "cannot unmarshal !!str into int" without saying which field.
func decodeStrict(data []byte, dst any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("not valid YAML: %s", cleanYAMLError(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return errors.New("empty document")
	}
	return decodeMapping(doc.Content[0], reflect.ValueOf(dst).Elem(), "")
}

func decodeMapping(n *yaml.Node, dst reflect.Value, prefix string) error {
	if n.Kind != yaml.MappingNode {
		where := "the document"
		if prefix != "" {
			where = "field " + strings.TrimSuffix(prefix, ".")
		}
		return fmt.Errorf("line %d: %s must be a mapping of fields", n.Line, where)
	}
	fields := yamlFields(dst)
	seen := map[string]bool{}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		name := prefix + key.Value
		field, ok := fields[key.Value]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("line %d: unknown field %q%s", key.Line, name, suggest(prefix, key.Value, fields)))
			continue
		case seen[key.Value]:
			errs = append(errs, fmt.Errorf("line %d: field %s given twice", key.Line, name))
			continue
		}
		seen[key.Value] = true
		if field.Kind() == reflect.Struct {
			if err := decodeMapping(value, field, name+"."); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := value.Decode(field.Addr().Interface()); err != nil {
			errs = append(errs, fmt.Errorf("line %d: field %s: %s", value.Line, name, cleanYAMLError(err)))
		}
	}
	return errors.Join(errs...)
}

// yamlFields maps the yaml names of a struct's fields to the fields.
func yamlFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		out[name] = v.Field(i)
	}
	return out
}

// suggest names the known field closest to an unknown one, if close.
func suggest(prefix, unknown string, fields map[string]reflect.Value) string {
	best, bestDistance := "", 3
	for name := range fields { //gregor:unordered-ok ties broken by name below
		d := editDistance(strings.ToLower(unknown), strings.ToLower(name))
		if d < bestDistance || d == bestDistance && best != "" && name < best {
			best, bestDistance = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", prefix+best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// cleanYAMLError drops yaml's "yaml: unmarshal errors:" preamble and the
// line prefixes we already print.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
				m = rest
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
