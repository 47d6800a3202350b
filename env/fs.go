package env

// FS is a node's file system, with Linux-like durability: writes land in a
// page cache and are durable only once the file is synced; creating,
// renaming and removing entries is durable only once their directory is
// synced. A crash loses whatever was not yet durable.
//
// Paths are slash-separated and relative to the node's data root, such as
// "log/t-0/00000000000000000000.log". Directories exist implicitly while they
// hold an entry; List returns the names directly inside one.
type FS interface {
	// Create makes a new empty file, failing with ErrExist if one exists.
	Create(path string) (File, error)
	// Open opens an existing file for reading and writing.
	Open(path string) (File, error)
	// Remove deletes a file. Open handles stay usable until closed.
	Remove(path string) error
	// Rename atomically replaces newPath (if it exists) with oldPath.
	Rename(oldPath, newPath string) error
	// List returns the sorted names directly inside dir ("" is the root);
	// names of subdirectories end with "/".
	List(dir string) ([]string, error)
	// Stat reports a file's size, as seen through the page cache.
	Stat(path string) (int64, error)
	// SyncDir makes the directory's entries (creates, renames, removes)
	// durable, then calls done on the process's thread.
	SyncDir(dir string, done func(error))
}

// File is an open file.
type File interface {
	Path() string
	// Size is the current length, including unsynced writes.
	Size() int64
	// ReadAt reads len(p) bytes at off; short reads at the end return
	// io.EOF with the count, as os.File does.
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt writes p at off, extending the file (with zeros) if needed.
	WriteAt(p []byte, off int64) (int, error)
	// Append writes p at the end and returns the offset it was written at.
	Append(p []byte) (int64, error)
	// Truncate sets the length.
	Truncate(size int64) error
	// Sync makes every write issued before it durable, then calls done on
	// the process's thread. Writes issued while it runs are not covered.
	Sync(done func(error))
	Close() error
}
