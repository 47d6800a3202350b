package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gregor-dst/gregor/env"
)

// The single-node broker keeps its metadata (topics, their ids and
// configs, dynamic broker configs, the producer id high-water mark) in one
// JSON file, replaced atomically: write a temporary file, fsync it, rename
// it over the old one, fsync the directory. The replicated metadata log
// of the controller quorum replaces it when brokers form a cluster.

const (
	metaFileName = "gregor-meta.json"
	metaVersion  = 1
	// producerIDBlock is how many producer ids one metadata write reserves.
	producerIDBlock = 1000
)

type metaFile struct {
	Version        int         `json:"version"`
	ClusterID      string      `json:"cluster_id"`
	NodeID         int32       `json:"node_id"`
	Topics         []metaTopic `json:"topics"`
	ProducerIDNext int64       `json:"producer_id_next"`
	// BrokerConfigs and ClusterDefaultConfigs are the dynamic broker
	// configs (AlterConfigs on resource "<id>" and "").
	BrokerConfigs         map[string]string `json:"broker_configs,omitempty"`
	ClusterDefaultConfigs map[string]string `json:"cluster_default_configs,omitempty"`
}

type metaTopic struct {
	Name       string            `json:"name"`
	ID         [16]byte          `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

// metaStore writes metaFile snapshots one at a time. A write requested
// while one is in flight waits and then writes the newest state, so
// callers are answered only once what they changed is durable.
type metaStore struct {
	fs      env.FS
	path    string
	writing bool
	pending []func(error) // callbacks for the next write
	next    func() metaFile
}

func newMetaStore(fs env.FS, path string) *metaStore {
	return &metaStore{fs: fs, path: path}
}

// load reads the metadata file; a missing file is a fresh broker.
func (m *metaStore) load() (metaFile, bool, error) {
	f, err := m.fs.Open(m.path)
	if errors.Is(err, env.ErrNotExist) {
		return metaFile{}, false, nil
	}
	if err != nil {
		return metaFile{}, false, err
	}
	defer f.Close()
	buf := make([]byte, f.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return metaFile{}, false, err
	}
	var mf metaFile
	if err := json.Unmarshal(buf, &mf); err != nil {
		return metaFile{}, false, fmt.Errorf("metadata file %s: %w", m.path, err)
	}
	if mf.Version != metaVersion {
		return metaFile{}, false, fmt.Errorf("metadata file %s: version %d, want %d", m.path, mf.Version, metaVersion)
	}
	return mf, true, nil
}

// save makes snapshot() durable and then calls done. snapshot is read when
// the write starts, so a later write carries every change before it.
func (m *metaStore) save(snapshot func() metaFile, done func(error)) {
	m.next = snapshot
	m.pending = append(m.pending, done)
	if !m.writing {
		m.write()
	}
}

func (m *metaStore) write() {
	if len(m.pending) == 0 {
		return
	}
	m.writing = true
	callbacks := m.pending
	m.pending = nil
	finish := func(err error) {
		m.writing = false
		for _, cb := range callbacks {
			cb(err)
		}
		m.write()
	}
	data, err := json.Marshal(m.next())
	if err != nil {
		finish(err)
		return
	}
	tmp := m.path + ".tmp"
	if err := m.fs.Remove(tmp); err != nil && !errors.Is(err, env.ErrNotExist) {
		finish(err)
		return
	}
	f, err := m.fs.Create(tmp)
	if err != nil {
		finish(err)
		return
	}
	if _, err := f.Append(data); err != nil {
		f.Close()
		finish(err)
		return
	}
	f.Sync(func(err error) {
		f.Close()
		if err != nil {
			finish(err)
			return
		}
		if err := m.fs.Rename(tmp, m.path); err != nil {
			finish(err)
			return
		}
		m.fs.SyncDir(dirOf(m.path), finish)
	})
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return ""
}
