package storage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEpochCacheAssign(t *testing.T) {
	tests := []struct {
		name    string
		before  []EpochEntry
		epoch   int32
		start   int64
		after   []EpochEntry
		changed bool
	}{
		{"first", nil, 3, 0, []EpochEntry{{3, 0}}, true},
		{"newer epoch", []EpochEntry{{3, 0}}, 5, 10, []EpochEntry{{3, 0}, {5, 10}}, true},
		{"latest epoch again, later", []EpochEntry{{3, 0}}, 3, 10, []EpochEntry{{3, 0}}, false},
		{"latest epoch, earlier start", []EpochEntry{{3, 5}}, 3, 2, []EpochEntry{{3, 2}}, true},
		{"older epoch drops newer ones", []EpochEntry{{1, 0}, {3, 5}, {5, 10}}, 4, 12, []EpochEntry{{1, 0}, {3, 5}, {4, 12}}, true},
		{"earlier start drops later entries", []EpochEntry{{1, 0}, {3, 5}, {5, 10}}, 6, 7, []EpochEntry{{1, 0}, {3, 5}, {6, 7}}, true},
		{"negative epoch ignored", []EpochEntry{{1, 0}}, -1, 4, []EpochEntry{{1, 0}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := epochCache{entries: append([]EpochEntry(nil), tt.before...)}
			require.Equal(t, tt.changed, c.assign(tt.epoch, tt.start))
			require.Equal(t, tt.after, c.entries)
		})
	}
}

func TestEpochCacheTruncate(t *testing.T) {
	full := []EpochEntry{{1, 0}, {3, 10}, {5, 20}}
	tests := []struct {
		name   string
		fn     func(c *epochCache) bool
		after  []EpochEntry
		change bool
	}{
		{"end past everything", func(c *epochCache) bool { return c.truncateFromEnd(30) }, full, false},
		{"end at an entry's start drops it", func(c *epochCache) bool { return c.truncateFromEnd(20) }, []EpochEntry{{1, 0}, {3, 10}}, true},
		{"end inside an epoch", func(c *epochCache) bool { return c.truncateFromEnd(15) }, []EpochEntry{{1, 0}, {3, 10}}, true},
		{"end at zero", func(c *epochCache) bool { return c.truncateFromEnd(0) }, []EpochEntry{}, true},
		{"start at the first entry", func(c *epochCache) bool { return c.truncateFromStart(0) }, full, false},
		{"start inside an epoch moves it", func(c *epochCache) bool { return c.truncateFromStart(12) }, []EpochEntry{{3, 12}, {5, 20}}, true},
		{"start at an entry", func(c *epochCache) bool { return c.truncateFromStart(20) }, []EpochEntry{{5, 20}}, true},
		{"start past everything", func(c *epochCache) bool { return c.truncateFromStart(99) }, []EpochEntry{{5, 99}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := epochCache{entries: append([]EpochEntry(nil), full...)}
			require.Equal(t, tt.change, tt.fn(&c))
			require.Equal(t, tt.after, c.entries)
		})
	}
}

// OffsetForLeaderEpoch answers, with Kafka's LeaderEpochFileCache rules.
func TestEpochCacheEndOffsetFor(t *testing.T) {
	cache := []EpochEntry{{2, 10}, {4, 30}, {7, 50}}
	const leo = 80
	tests := []struct {
		name      string
		entries   []EpochEntry
		requested int32
		epoch     int32
		end       int64
	}{
		{"latest epoch ends at LEO", cache, 7, 7, leo},
		{"an epoch ends where the next starts", cache, 2, 2, 30},
		{"a missing epoch answers the one before it", cache, 3, 2, 30},
		{"the gap below the latest", cache, 6, 4, 50},
		{"below every entry: requested, ending at the first start", cache, 1, 1, 10},
		{"above the latest: undefined", cache, 8, UndefinedEpoch, UndefinedEpochOffset},
		{"undefined requested", cache, UndefinedEpoch, UndefinedEpoch, UndefinedEpochOffset},
		{"empty cache", nil, 3, UndefinedEpoch, UndefinedEpochOffset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := epochCache{entries: tt.entries}
			epoch, end := c.endOffsetFor(tt.requested, leo)
			require.Equal(t, tt.epoch, epoch)
			require.Equal(t, tt.end, end)
		})
	}
}

func TestCheckpointCodec(t *testing.T) {
	entries := []EpochEntry{{0, 0}, {3, 1200}}
	got, err := decodeEpochs(encodeEpochs(entries))
	require.NoError(t, err)
	require.Equal(t, entries, got)
	require.Equal(t, "0\n2\n0 0\n3 1200\n", string(encodeEpochs(entries)), "Kafka's checkpoint layout")
	empty, err := decodeEpochs(encodeEpochs(nil))
	require.NoError(t, err)
	require.Empty(t, empty)
	off, err := decodeOffset(encodeOffset(42))
	require.NoError(t, err)
	require.Equal(t, int64(42), off)

	for _, bad := range []string{"", "0\n1\n", "0\n1\n5", "1\n1\n5\n", "0\n2\n5\n", "0\n1\n-5\n", "0\n1\nx\n"} {
		_, err := decodeOffset([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
	for _, bad := range []string{"0\n2\n3 10\n2 20\n", "0\n2\n3 10\n4 10\n", "0\n1\n3\n", "0\n1\n-1 5\n"} {
		_, err := decodeEpochs([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}
