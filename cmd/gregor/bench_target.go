package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gregor-dst/gregor/bench"
)

// gregorTarget is a local gregor cluster for gregor bench: this binary's
// `gregor cluster`, one process per broker, in a fresh data directory.
type gregorTarget struct {
	brokers int
	fsync   bool // log.flush.interval.messages=1: fsync before every ack
	dir     string
	keepDir bool
	cmd     *exec.Cmd
	done    chan error
}

// parseGregorTarget reads "gregor[:brokers=N,fsync=true|false]".
func parseGregorTarget(spec string) (*gregorTarget, error) {
	_, args, _ := strings.Cut(spec, ":")
	t := &gregorTarget{brokers: 3}
	if args == "" {
		return t, nil
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(kv, "=")
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("parameter %q is not key=value", kv)
		case k == "brokers":
			t.brokers, err = strconv.Atoi(v)
			if err == nil && (t.brokers < 1 || t.brokers > 9) {
				err = errors.New("want 1..9")
			}
		case k == "fsync":
			t.fsync, err = strconv.ParseBool(v)
		default:
			err = fmt.Errorf("unknown parameter %q (brokers, fsync)", k)
		}
		if err != nil {
			return nil, fmt.Errorf("target %q: %s: %w", spec, kv, err)
		}
	}
	return t, nil
}

func (t *gregorTarget) Name() string { return "gregor" }

func (t *gregorTarget) Setup(ctx context.Context) (bench.Endpoint, error) {
	self, err := os.Executable()
	if err != nil {
		return bench.Endpoint{}, err
	}
	if t.dir, err = os.MkdirTemp("", "gregor-bench-"); err != nil {
		return bench.Endpoint{}, err
	}
	args := []string{"cluster", "--brokers", strconv.Itoa(t.brokers), "--data-dir", t.dir,
		"--config", fmt.Sprintf("min.insync.replicas=%d", min(2, t.brokers))}
	if t.fsync {
		args = append(args, "--config", "log.flush.interval.messages=1")
	}
	t.cmd = exec.Command(self, args...)
	t.cmd.Stderr = io.Discard
	stdout, err := t.cmd.StdoutPipe()
	if err != nil {
		return bench.Endpoint{}, err
	}
	if err := t.cmd.Start(); err != nil {
		return bench.Endpoint{}, fmt.Errorf("starting gregor cluster: %w", err)
	}
	t.done = make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() { t.done <- t.cmd.Wait() }()
	addrs, err := awaitBootstrap(ctx, lines, 60*time.Second)
	if err != nil {
		return bench.Endpoint{}, fmt.Errorf("gregor cluster (logs in %s): %w", t.dir, err)
	}
	fsync := "never on the ack path (Kafka's default: flush.messages unset)"
	if t.fsync {
		fsync = "before every acknowledgement (log.flush.interval.messages=1)"
	}
	cfg := map[string]string{"min.insync.replicas": strconv.Itoa(min(2, t.brokers))}
	if t.fsync {
		cfg["log.flush.interval.messages"] = "1"
	}
	return bench.Endpoint{Bootstrap: addrs, Info: bench.TargetInfo{
		Name:        "gregor",
		Description: fmt.Sprintf("gregor cluster, %d broker processes on this machine (combined mode)", t.brokers),
		Brokers:     t.brokers,
		Durability: bench.Durability{Fsync: fsync, Persistent: true, Replicated: t.brokers > 1,
			Notes: "data directory: " + t.dir},
		BrokerConfigs: cfg, DataDir: t.dir, NoConsumerGroups: true,
		Versions: map[string]string{"gregor": versionString()},
	}}, nil
}

func awaitBootstrap(ctx context.Context, lines <-chan string, limit time.Duration) ([]string, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return nil, errors.New("exited before printing its bootstrap line")
			}
			if rest, ok := strings.CutPrefix(l, "bootstrap: "); ok {
				return strings.Split(rest, ","), nil
			}
		case <-timer.C:
			return nil, fmt.Errorf("no bootstrap line within %s", limit)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (t *gregorTarget) Teardown(context.Context) error {
	if t.cmd != nil && t.cmd.Process != nil {
		_ = t.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-t.done:
		case <-time.After(30 * time.Second):
			_ = t.cmd.Process.Kill()
			<-t.done
		}
	}
	if t.dir != "" && !t.keepDir {
		return os.RemoveAll(t.dir)
	}
	return nil
}
