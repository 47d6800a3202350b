package main

// Interop tests: the real `gregor broker` binary on a random loopback port,
// driven by clients no one here wrote (franz-go kgo and kadm, sarama,
// kcat/librdkafka). Each client must work unchanged.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// gregorBinary builds the command once per test run.
func gregorBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gregor-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gregor")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// brokerProc is a running `gregor broker`.
type brokerProc struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	logs *strings.Builder
	mu   *sync.Mutex
	done chan error
}

// startBroker runs `gregor broker` on a free loopback port over dataDir
// (a new temporary directory when empty) and waits for its listening line.
func startBroker(t *testing.T, dataDir string, configs ...string) *brokerProc {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	args := []string{"broker", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	cmd := exec.Command(gregorBinary(t), args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &brokerProc{cmd: cmd, dir: dataDir, logs: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{p.mu, p.logs}
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	addrc := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), "listening: "); ok {
				addrc <- a
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case p.addr = <-addrc:
	case err := <-p.done:
		t.Fatalf("broker exited before listening: %v\n%s", err, p.stderr())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("broker did not listen within 30s\n%s", p.stderr())
	}
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *brokerProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *brokerProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "graceful stop\n%s", p.stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("broker did not stop within 60s of SIGTERM\n%s", p.stderr())
	}
}

func (p *brokerProc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
