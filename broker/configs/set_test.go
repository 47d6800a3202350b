package configs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetIsSortedAndImmutable(t *testing.T) {
	a := set("retention.ms", "1", "cleanup.policy", "compact", "segment.ms", "3")
	assert.Equal(t, []string{"cleanup.policy", "retention.ms", "segment.ms"}, a.Keys())

	b := a.With("retention.ms", "2").With("flush.ms", "9")
	c := a.Without("cleanup.policy")
	assert.Equal(t, "cleanup.policy=compact,retention.ms=1,segment.ms=3", a.String(), "With/Without leave the receiver alone")
	assert.Equal(t, "cleanup.policy=compact,flush.ms=9,retention.ms=2,segment.ms=3", b.String())
	assert.Equal(t, "retention.ms=1,segment.ms=3", c.String())
	assert.Equal(t, a, a.Without("absent"))

	v, ok := b.Get("flush.ms")
	assert.True(t, ok)
	assert.Equal(t, "9", v)
	_, ok = b.Get("nope")
	assert.False(t, ok)

	assert.True(t, SetOf(a.Map()).Equal(a))
	assert.False(t, a.Equal(b))
	assert.Equal(t, 0, Set{}.Len())

	var keys []string
	for k := range b.All() {
		keys = append(keys, k)
		if k == "flush.ms" {
			break
		}
	}
	assert.Equal(t, []string{"cleanup.policy", "flush.ms"}, keys, "All stops when the loop does")
}

func TestParseAssignment(t *testing.T) {
	for _, tc := range []struct {
		arg, key, value, err string
	}{
		{arg: "num.partitions=3", key: "num.partitions", value: "3"},
		{arg: " log.dirs =/a,/b", key: "log.dirs", value: "/a,/b"},
		{arg: "listeners=SASL://:9092,X=Y", key: "listeners", value: "SASL://:9092,X=Y"},
		{arg: "advertised.listeners=", key: "advertised.listeners", value: ""},
		{arg: "num.partitions", err: `config "num.partitions": want key=value`},
		{arg: "=3", err: `config "=3": empty key before '='`},
		{arg: "", err: `config "": want key=value`},
	} {
		key, value, err := ParseAssignment(tc.arg)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, tc.arg)
			continue
		}
		require.NoError(t, err, tc.arg)
		assert.Equal(t, tc.key, key)
		assert.Equal(t, tc.value, value)
	}
}

func TestParseStatic(t *testing.T) {
	s, err := ParseStatic([]string{"node.id=2", "log.dirs=/data", "log.retention.hours=24"})
	require.NoError(t, err)
	assert.Equal(t, "broker.id=2,log.dirs=/data,log.retention.hours=24,node.id=2", s.String(), "broker.id follows node.id")

	s, err = ParseStatic([]string{"broker.id=4"})
	require.NoError(t, err)
	assert.Equal(t, "broker.id=4,node.id=4", s.String())

	_, err = ParseStatic([]string{"node.id=1", "broker.id=2"})
	assert.EqualError(t, err, "node.id (1) and broker.id (2) must be equal: they name the same node")
	_, err = ParseStatic([]string{"num.partitions=1", "num.partitions=2"})
	assert.EqualError(t, err, `config "num.partitions=2": num.partitions given twice`)
	_, err = ParseStatic([]string{"retention.ms=1"})
	assert.EqualError(t, err, "Unknown broker config name: retention.ms")
	_, err = ParseStatic([]string{"num.partitions=0"})
	assert.EqualError(t, err, "Invalid value 0 for configuration num.partitions: Value must be at least 1")
	_, err = ParseStatic([]string{"nokey"})
	assert.EqualError(t, err, `config "nokey": want key=value`)
}
