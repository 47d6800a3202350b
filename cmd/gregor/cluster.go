package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

type clusterFlags struct {
	brokers  int
	dataDir  string
	host     string
	configs  []string
	logLevel string
	readyMax time.Duration
	profiles bool
}

func newClusterCmd() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a local cluster: one gregor broker process per node",
		Long: `cluster starts --brokers gregor broker processes on this machine, each with
its own client port, controller port and directory under --data-dir
(broker-1, broker-2, …), all of them voters of the metadata quorum (KRaft's
combined mode). Each process can be killed on its own (the supervisor keeps
the others running and reports the exit), which is what failover tests do.

Once every broker serves clients it prints one line for scripts and tests:

  bootstrap: 127.0.0.1:40001,127.0.0.1:40003,127.0.0.1:40005

preceded by one "broker N: pid P, listening HOST:PORT" line per broker.
Broker logs go to --data-dir/broker-N.log. SIGTERM or SIGINT stops every
broker gracefully (controlled shutdown, flush) and then exits.`,
		Example: `  gregor cluster --brokers 3 --data-dir /tmp/gregor
  gregor cluster --brokers 3 --data-dir ./data --config min.insync.replicas=2 --config default.replication.factor=3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCluster(cmd, f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.brokers, "brokers", 3, "how many brokers (each a quorum voter), 1..15")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory holding each broker's directory and log (required)")
	fl.StringVar(&f.host, "host", "127.0.0.1", "host every broker listens on")
	fl.StringArrayVar(&f.configs, "config", nil, "a broker config for every broker as `key=value` (repeatable)")
	fl.StringVar(&f.logLevel, "log-level", "info", "the brokers' log level: debug, info, warn or error")
	fl.DurationVar(&f.readyMax, "ready-timeout", time.Minute, "how long to wait for every broker to serve")
	fl.BoolVar(&f.profiles, "cpu-profiles", false, "write each broker's Go CPU profile to --data-dir/broker-N.cpu.pprof")
	return cmd
}

// member is one broker process of the cluster.
type member struct {
	id      int
	cmd     *exec.Cmd
	addr    string
	ready   chan string // the "listening:" address
	exited  chan error
	logFile *os.File
}

func runCluster(cmd *cobra.Command, f clusterFlags) error {
	switch {
	case f.dataDir == "":
		return fmt.Errorf("--data-dir is required")
	case f.brokers < 1 || f.brokers > 15:
		return fmt.Errorf("--brokers %d: want 1..15", f.brokers)
	}
	if _, err := newLogger(f.logLevel, false); err != nil {
		return err
	}
	if err := os.MkdirAll(f.dataDir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the gregor binary: %w", err)
	}
	ports, err := freePorts(f.host, 2*f.brokers)
	if err != nil {
		return err
	}
	var voters []string
	for i := range f.brokers {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, net.JoinHostPort(f.host, strconv.Itoa(ports[2*i+1]))))
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	out := cmd.OutOrStdout()
	members := make([]*member, f.brokers)
	for i := range f.brokers {
		args := []string{"broker", "--node-id", strconv.Itoa(i + 1),
			"--listen", net.JoinHostPort(f.host, strconv.Itoa(ports[2*i])),
			"--controller-listen", net.JoinHostPort(f.host, strconv.Itoa(ports[2*i+1])),
			"--voters", strings.Join(voters, ","),
			"--data-dir", filepath.Join(f.dataDir, "broker-"+strconv.Itoa(i+1)),
			"--log-level", f.logLevel}
		for _, c := range f.configs {
			args = append(args, "--config", c)
		}
		if f.profiles {
			args = append(args, "--cpu-profile", filepath.Join(f.dataDir, "broker-"+strconv.Itoa(i+1)+".cpu.pprof"))
		}
		m, err := startMember(self, i+1, args, f.dataDir)
		if err != nil {
			stopMembers(members)
			return err
		}
		members[i] = m
	}
	defer stopMembers(members)
	if err := awaitReady(ctx, out, members, f.readyMax); err != nil {
		return err
	}
	var addrs []string
	for _, m := range members {
		addrs = append(addrs, m.addr)
	}
	fmt.Fprintf(out, "bootstrap: %s\n", strings.Join(addrs, ","))
	superviseMembers(ctx, cmd.ErrOrStderr(), members)
	return nil
}

// startMember starts one broker process, its log in dir/broker-N.log.
func startMember(bin string, id int, args []string, dir string) (*member, error) {
	logFile, err := os.Create(filepath.Join(dir, "broker-"+strconv.Itoa(id)+".log"))
	if err != nil {
		return nil, err
	}
	c := exec.Command(bin, args...)
	c.Stderr = logFile
	c.SysProcAttr = memberProcAttr()
	stdout, err := c.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := c.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting broker %d: %w", id, err)
	}
	m := &member{id: id, cmd: c, ready: make(chan string, 1), exited: make(chan error, 1), logFile: logFile}
	go m.readStdout(stdout)
	return m, nil
}

// readStdout passes the broker's "listening:" line on, then its exit.
func (m *member) readStdout(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening: "); ok {
			select {
			case m.ready <- addr:
			default:
			}
		}
	}
	m.exited <- m.cmd.Wait()
	m.logFile.Close()
}

func awaitReady(ctx context.Context, out io.Writer, members []*member, readyMax time.Duration) error {
	deadline := time.After(readyMax)
	for _, m := range members {
		select {
		case m.addr = <-m.ready:
			fmt.Fprintf(out, "broker %d: pid %d, listening %s\n", m.id, m.cmd.Process.Pid, m.addr)
		case err := <-m.exited:
			m.exited <- err // for stopMembers
			return fmt.Errorf("broker %d exited before serving (%v); see its log", m.id, err)
		case <-deadline:
			return fmt.Errorf("broker %d did not serve within %s; see its log", m.id, readyMax)
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// superviseMembers reports brokers that exit, until a signal.
func superviseMembers(ctx context.Context, stderr io.Writer, members []*member) {
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case err := <-m.exited:
				fmt.Fprintf(stderr, "broker %d (pid %d) exited: %v\n", m.id, m.cmd.Process.Pid, exitText(err))
				m.exited <- err // for stopMembers
			case <-ctx.Done():
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
}

// stopMembers sends SIGTERM to every live broker and waits, killing the
// ones that have not exited after 30 s.
func stopMembers(members []*member) {
	for _, m := range members {
		if m != nil {
			_ = m.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, m := range members {
		if m == nil {
			continue
		}
		select {
		case <-m.exited:
		case <-time.After(30 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// freePorts finds n distinct free TCP ports on host. They are free when
// asked; a process that grabs one before a broker binds it makes that
// broker fail to start, which is reported.
func freePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("finding free ports on %s: %w", host, err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
