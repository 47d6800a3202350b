package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/real"
	"github.com/spf13/cobra"
)

type brokerFlags struct {
	listen     string
	advertised string
	dataDir    string
	configs    []string
	nodeID     int32
	clusterID  string
	ctlListen  string
	voters     string
	cpuProfile string
	logLevel   string
	logJSON    bool
}

func newBrokerCmd() *cobra.Command {
	var f brokerFlags
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run one gregor broker over real TCP, files and fsync",
		Long: `broker serves the Kafka protocol on --listen with its logs under --data-dir:
the same broker code the simulator checks, on the real runtime.

Configs take Kafka's names: broker-wide defaults such as log.retention.ms,
num.partitions, log.flush.interval.messages (1 = fsync every message before
acknowledging it; by default, as Kafka, fsync is left to the OS) and
auto.create.topics.enable.

Alone, the broker is a cluster of one: its metadata quorum has one voter.
To form a cluster, start every broker with the same --voters list (each
broker is a quorum voter, KRaft's combined mode), its own --node-id and
--controller-listen address, and its own data directory; "gregor cluster"
does this for a local cluster.

SIGTERM or SIGINT stops it gracefully: a controlled shutdown moves its
partition leaderships to other brokers, connections are closed and every
log is flushed before it exits.`,
		Example: `  gregor broker --listen 127.0.0.1:9092 --data-dir /var/lib/gregor
  gregor broker --listen 127.0.0.1:0 --data-dir ./data --config num.partitions=6 --config log.flush.interval.messages=1
  gregor broker --node-id 2 --listen 127.0.0.1:9292 --controller-listen 127.0.0.1:9293 \
      --voters 1@127.0.0.1:9193,2@127.0.0.1:9293,3@127.0.0.1:9393 --data-dir ./data/2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBroker(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:9092", "`HOST:PORT` to serve on (port 0 picks a free one)")
	fl.StringVar(&f.advertised, "advertised", "", "`HOST:PORT` clients are told to use (default: the listening address)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory for logs and metadata (required)")
	fl.StringArrayVar(&f.configs, "config", nil, "a broker config as `key=value` (repeatable)")
	fl.Int32Var(&f.nodeID, "node-id", 0, "this broker's node.id")
	fl.StringVar(&f.ctlListen, "controller-listen", "", "`HOST:PORT` of this node's controller listener (default: the --listen host, a free port; required with --voters)")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the whole run to `FILE` (for performance work)")
	fl.StringVar(&f.voters, "voters", "", "the metadata quorum as `ID@HOST:PORT,…` (controller.quorum.voters); empty: a quorum of one")
	fl.StringVar(&f.clusterID, "cluster-id", "gregor-cluster", "the cluster id reported to clients")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log JSON lines instead of text")
	return cmd
}

func runBroker(cmd *cobra.Command, f brokerFlags) error {
	cfg, opts, err := brokerSetup(f)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	cfg.Listening = func(addr string) {
		// One line on stdout that scripts and tests wait for.
		fmt.Fprintf(out, "listening: %s\n", addr)
	}
	b, err := broker.New(cfg)
	if err != nil {
		return err
	}
	rt, err := real.New(opts)
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return rt.Run(ctx, b)
}

// brokerSetup turns flags into the broker's Config and the runtime's
// Options, with a clear error for each bad flag.
func brokerSetup(f brokerFlags) (broker.Config, real.Options, error) {
	cfg := broker.DefaultConfig()
	if f.dataDir == "" {
		return cfg, real.Options{}, fmt.Errorf("--data-dir is required")
	}
	host, port, err := splitListen("--listen", f.listen)
	if err != nil {
		return cfg, real.Options{}, err
	}
	cfg.Port, cfg.NodeID, cfg.ClusterID = port, f.nodeID, f.clusterID
	if f.advertised != "" {
		if cfg.AdvertisedHost, cfg.AdvertisedPort, err = splitListen("--advertised", f.advertised); err != nil {
			return cfg, real.Options{}, err
		}
	}
	if cfg.Voters, err = parseVoters(f.voters); err != nil {
		return cfg, real.Options{}, err
	}
	cfg.ControllerPort = 0
	if f.ctlListen != "" {
		ctlHost, ctlPort, err := splitListen("--controller-listen", f.ctlListen)
		if err != nil {
			return cfg, real.Options{}, err
		}
		if ctlHost != host {
			return cfg, real.Options{}, fmt.Errorf("--controller-listen host %q must be the --listen host %q (one runtime, one host)", ctlHost, host)
		}
		cfg.ControllerPort = ctlPort
	}
	if len(cfg.Voters) > 0 {
		if f.ctlListen == "" || cfg.ControllerPort == 0 {
			return cfg, real.Options{}, fmt.Errorf("--voters needs --controller-listen with a fixed port: the other voters dial it")
		}
		if _, ok := cfg.Voters[f.nodeID]; !ok {
			return cfg, real.Options{}, fmt.Errorf("--node-id %d is not in --voters: every broker is a voter", f.nodeID)
		}
	}
	if cfg.Static, err = configs.ParseStatic(f.configs); err != nil {
		return cfg, real.Options{}, fmt.Errorf("--config: %w", err)
	}
	logger, err := newLogger(f.logLevel, f.logJSON)
	if err != nil {
		return cfg, real.Options{}, err
	}
	opts := real.Options{
		Name:    "broker-" + strconv.Itoa(int(f.nodeID)),
		DataDir: f.dataDir,
		Host:    host,
		Logger:  logger,
		// After its last answer a closing connection waits this long for
		// the client to close its end (so no answer is lost to a reset);
		// idle clients only notice at their next request, so shutdown
		// should not wait for them long.
		CloseTimeout: 2 * time.Second,
	}
	return cfg, opts, nil
}

// parseVoters reads controller.quorum.voters: "1@host:9093,2@host:9094".
func parseVoters(text string) (map[int32]string, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	voters := map[int32]string{}
	for _, item := range strings.Split(text, ",") {
		idText, addr, ok := strings.Cut(strings.TrimSpace(item), "@")
		id, err := strconv.ParseInt(idText, 10, 32)
		if !ok || err != nil || id < 0 {
			return nil, fmt.Errorf("--voters %q: each voter is ID@HOST:PORT with a non-negative id", item)
		}
		if _, _, err := splitListen("--voters", addr); err != nil {
			return nil, err
		}
		if _, dup := voters[int32(id)]; dup {
			return nil, fmt.Errorf("--voters: id %d appears twice", id)
		}
		voters[int32(id)] = addr
	}
	return voters, nil
}

func splitListen(flag, addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %v", flag, addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s %q: port must be 0..65535", flag, addr)
	}
	return host, port, nil
}

func newLogger(level string, json bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	if json {
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
}
