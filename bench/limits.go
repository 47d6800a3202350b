package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// PhysicalLimits are the machine's raw limits, measured in the same run so
// that reports can give throughput as a fraction of them: what a broker on
// loopback and one disk could at best do.
type PhysicalLimits struct {
	// LoopbackTCPBytesPerSecond is one connection's tight write loop over
	// 127.0.0.1, with a reader discarding.
	LoopbackTCPBytesPerSecond float64 `json:"loopbackTcpBytesPerSecond"`
	LoopbackError             string  `json:"loopbackError,omitempty"`
	// DiskWriteFsyncBytesPerSecond is sequential writes of DiskWriteBytes,
	// each followed by fsync, in DiskDir.
	DiskWriteFsyncBytesPerSecond float64 `json:"diskWriteFsyncBytesPerSecond"`
	DiskFsyncsPerSecond          float64 `json:"diskFsyncsPerSecond"`
	DiskWriteBytes               int     `json:"diskWriteBytes"`
	DiskDir                      string  `json:"diskDir"`
	DiskError                    string  `json:"diskError,omitempty"`
	// MeasureSeconds is how long each measurement ran.
	MeasureSeconds float64 `json:"measureSeconds"`
}

const (
	loopbackChunkBytes = 256 << 10
	diskWriteBytes     = 1 << 20
	// diskFileBytesMax bounds the scratch file: past it the file is
	// truncated and written again, so a fast disk does not fill up.
	diskFileBytesMax = 256 << 20
)

// MeasurePhysicalLimits measures loopback TCP and disk write+fsync for d
// each. Failures are recorded in the result rather than returned: a run on
// a read-only disk still has its loopback number.
func MeasurePhysicalLimits(ctx context.Context, dir string, d time.Duration) PhysicalLimits {
	l := PhysicalLimits{DiskDir: dir, DiskWriteBytes: diskWriteBytes, MeasureSeconds: d.Seconds()}
	var err error
	if l.LoopbackTCPBytesPerSecond, err = MeasureLoopbackTCP(ctx, d); err != nil {
		l.LoopbackError = err.Error()
	}
	if l.DiskWriteFsyncBytesPerSecond, l.DiskFsyncsPerSecond, err = MeasureDiskWriteFsync(ctx, dir, diskWriteBytes, d); err != nil {
		l.DiskError = err.Error()
	}
	return l
}

// MeasureLoopbackTCP writes as fast as it can over one 127.0.0.1
// connection for d and returns the bytes per second the reader received.
func MeasureLoopbackTCP(ctx context.Context, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("loopback: %w", err)
	}
	defer ln.Close()
	type readResult struct {
		bytes int64
		err   error
	}
	read := make(chan readResult, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			read <- readResult{err: err}
			return
		}
		defer conn.Close()
		n, err := io.Copy(io.Discard, conn)
		read <- readResult{bytes: n, err: err}
	}()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return 0, fmt.Errorf("loopback: %w", err)
	}
	buf := make([]byte, loopbackChunkBytes)
	start := time.Now()
	deadline := start.Add(d)
	_ = conn.SetWriteDeadline(deadline) // a stuck reader must not hang us
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := conn.Write(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			conn.Close()
			return 0, fmt.Errorf("loopback: %w", err)
		}
	}
	conn.Close()
	r := <-read // the reader drains what is in flight, then sees EOF
	elapsed := time.Since(start)
	if r.err != nil {
		return 0, fmt.Errorf("loopback: %w", r.err)
	}
	return float64(r.bytes) / elapsed.Seconds(), nil
}

// MeasureDiskWriteFsync appends writeBytes blocks to a scratch file in
// dir, each followed by fsync, for d, and returns bytes and fsyncs per
// second. The file is removed afterwards.
func MeasureDiskWriteFsync(ctx context.Context, dir string, writeBytes int, d time.Duration) (bytesPerSecond, fsyncsPerSecond float64, err error) {
	if writeBytes < 1 || writeBytes > diskFileBytesMax {
		return 0, 0, fmt.Errorf("disk: write size %d out of range", writeBytes)
	}
	f, err := os.CreateTemp(dir, "gregor-bench-fsync-*")
	if err != nil {
		return 0, 0, fmt.Errorf("disk: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	buf := make([]byte, writeBytes)
	rng := rand.New(rand.NewPCG(1, 2))
	fillRandom(rng, buf) // incompressible, for file systems that compress
	var written, syncs, fileBytes int64
	start := time.Now()
	for (syncs == 0 || time.Since(start) < d) && ctx.Err() == nil {
		if fileBytes+int64(writeBytes) > diskFileBytesMax {
			if err := f.Truncate(0); err != nil {
				return 0, 0, fmt.Errorf("disk: %w", err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return 0, 0, fmt.Errorf("disk: %w", err)
			}
			fileBytes = 0
		}
		if _, err := f.Write(buf); err != nil {
			return 0, 0, fmt.Errorf("disk: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, 0, fmt.Errorf("disk: %w", err)
		}
		written += int64(writeBytes)
		fileBytes += int64(writeBytes)
		syncs++
	}
	elapsed := time.Since(start).Seconds()
	return float64(written) / elapsed, float64(syncs) / elapsed, nil
}
