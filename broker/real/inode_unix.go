//go:build unix

package real

import (
	"os"
	"syscall"
)

// inodeOf identifies the file behind fi, so that handles opened on one
// file share its size.
func inodeOf(fi os.FileInfo) (inodeKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return inodeKey{}, false
	}
	return inodeKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
