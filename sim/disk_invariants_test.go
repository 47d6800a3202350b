//go:build invariants

package sim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// With the invariants tag, a crash first checks the disk's running count
// of used bytes against its files, including writes to a removed file that
// is still open (those must not count).
func TestDiskUsedCountCheckedAtCrash(t *testing.T) {
	r := newDiskRig(t, 1, DiskOptions{})
	f := r.create("a", "hello")
	require.NoError(t, r.fs().Remove("a"))
	_, err := f.Append([]byte("more bytes to an unlinked file"))
	require.NoError(t, err)
	r.create("b", "xyz")
	require.Equal(t, int64(3), r.n.Disk().UsedBytes())
	r.crash() // passes: the count is right

	r.create("c", "12345")
	r.n.Disk().used += 7 // a bookkeeping bug
	require.PanicsWithValue(t, "assertion failed: disk n1: 5 bytes in files, 12 counted", func() { r.n.Crash() })
}
