package detcheck

import "testing"

// Whitespace-only reasons cannot be written in testdata (gofmt strips
// trailing blanks), so the directive parser is also tested directly.
func TestParseDirective(t *testing.T) {
	tests := []struct {
		text   string
		reason string
		ok     bool
	}{
		{"//gregor:unordered-ok sum is commutative", "sum is commutative", true},
		{"//gregor:unordered-ok\tcounting", "counting", true},
		{"//gregor:unordered-ok", "", true},
		{"//gregor:unordered-ok   \t", "", true},
		{"//gregor:unordered-okay counting", "", false},
		{"// gregor:unordered-ok counting", "", false},
		{"/*gregor:unordered-ok counting*/", "", false},
		{"// unrelated", "", false},
	}
	for _, tt := range tests {
		reason, ok := parseDirective(tt.text)
		if reason != tt.reason || ok != tt.ok {
			t.Errorf("parseDirective(%q) = %q, %v; want %q, %v", tt.text, reason, ok, tt.reason, tt.ok)
		}
	}
}

func TestIsExempt(t *testing.T) {
	const mod = "github.com/gregor-dst/gregor/"
	tests := map[string]bool{
		mod + "broker/real":              true,
		mod + "workloads/real":           true,
		mod + "broker/real/transport":    true,
		mod + "env/realrt":               true,
		mod + "sim/cmd/simrun":           true,
		mod + "sim":                      false,
		mod + "broker":                   false,
		mod + "broker/realistic":         false,
		mod + "workloads/surreal":        false,
		mod + "checker/cmdline":          false,
		mod + "internal/assert":          false,
		mod + "faults/partition/realism": false,
	}
	for path, want := range tests {
		if got := IsExempt(path); got != want {
			t.Errorf("IsExempt(%q) = %v, want %v", path, got, want)
		}
	}
}
