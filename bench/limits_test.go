package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMeasurePhysicalLimits(t *testing.T) {
	dir := t.TempDir()
	l := MeasurePhysicalLimits(context.Background(), dir, 100*time.Millisecond)
	assert.Empty(t, l.LoopbackError)
	assert.Empty(t, l.DiskError)
	assert.Greater(t, l.LoopbackTCPBytesPerSecond, 1e6, "more than 1 MB/s over loopback")
	assert.Greater(t, l.DiskWriteFsyncBytesPerSecond, 0.0)
	assert.Greater(t, l.DiskFsyncsPerSecond, 0.0)
	assert.Equal(t, 1<<20, l.DiskWriteBytes)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the scratch file is removed")
}

func TestMeasureDiskErrors(t *testing.T) {
	_, _, err := MeasureDiskWriteFsync(context.Background(), "/nonexistent/dir", 1<<20, time.Millisecond)
	assert.Error(t, err)
	l := MeasurePhysicalLimits(context.Background(), "/nonexistent/dir", time.Millisecond)
	assert.NotEmpty(t, l.DiskError, "recorded, not fatal")
	assert.Empty(t, l.LoopbackError)
}
