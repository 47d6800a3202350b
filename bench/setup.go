package bench

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Setup is what a reader needs to reproduce and judge a run: the target
// and its durability, the workload and client settings, versions, the
// machine and its physical limits.
type Setup struct {
	Target   TargetInfo `json:"target"`
	Workload Workload   `json:"workload"`

	TestDurationSeconds   float64 `json:"testDurationSeconds"`
	WarmupDurationSeconds float64 `json:"warmupDurationSeconds"`
	WindowSeconds         float64 `json:"windowSeconds"`

	// ClientConfigs are the effective producer and consumer settings,
	// named as Kafka's client properties where one exists.
	ClientConfigs map[string]string `json:"clientConfigs"`
	// BrokerConfigs are durability-relevant broker settings: those the
	// target declares, overlaid with what the cluster reports through
	// DescribeConfigs.
	BrokerConfigs     map[string]string `json:"brokerConfigs"`
	TopicConfigs      map[string]string `json:"topicConfigs"`
	ReplicationFactor int               `json:"replicationFactor"`
	Payload           string            `json:"payload"`

	Versions       map[string]string `json:"versions"`
	Machine        Machine           `json:"machine"`
	PhysicalLimits *PhysicalLimits   `json:"physicalLimits,omitempty"`

	Histogram string `json:"histogram"`
	// TimerSlackMicros is the median overshoot of a 50 µs sleep on this
	// machine: publish delays below it are the harness's own pacing.
	TimerSlackMicros float64 `json:"timerSlackMicros"`
	// EndToEnd says how end-to-end latency is measured.
	EndToEnd string `json:"endToEnd"`

	// Sweep places the run in a throughput sweep; nil for a single run.
	Sweep *SweepStep `json:"sweep,omitempty"`

	// Seed seeded the payloads and keys.
	Seed      uint64    `json:"seed"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
	Notes     []string  `json:"notes,omitempty"`
}

// endToEndDescription: why our e2e latency is exact where OMB's is not.
const endToEndDescription = "consume time − send time on one process's monotonic clock; the send time " +
	"travels in the payload's first 8 bytes (in a record header \"" + sendTimeHeader + "\" for payloads under 8 bytes), " +
	"so records keep messageSize bytes; microsecond resolution, no clock skew between hosts, " +
	"0 µs samples kept (OMB uses wall-clock milliseconds and drops 0)"

// Machine describes the host that ran the harness (and in-process targets).
type Machine struct {
	GOOS          string `json:"goos"`
	GOARCH        string `json:"goarch"`
	NumCPU        int    `json:"numCPU"`
	GOMAXPROCS    int    `json:"gomaxprocs"`
	CPUModel      string `json:"cpuModel,omitempty"`
	KernelRelease string `json:"kernelRelease,omitempty"`
	MemoryBytes   uint64 `json:"memoryBytes,omitempty"`
	GoVersion     string `json:"goVersion"`
}

// ReadMachine describes this machine; the CPU model, kernel and memory are
// read from /proc where it exists and left empty elsewhere.
func ReadMachine() Machine {
	m := Machine{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if m.CPUModel == "" {
		m.CPUModel = procField("/proc/cpuinfo", "Model") // arm64 boards
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.KernelRelease = strings.TrimSpace(string(b))
	}
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		if n, err := strconv.ParseUint(strings.TrimSuffix(kb, " kB"), 10, 64); err == nil {
			m.MemoryBytes = n * 1024
		}
	}
	return m
}

// procField returns the value of the first "key : value" line.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for lines := 0; s.Scan() && lines < 10_000; lines++ {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Versions lists the versions of gregor, Go and the libraries the
// benchmark measures with, from the binary's build information.
func Versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	main := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			main += " " + s.Value
		}
	}
	if main != "" {
		v["gregor"] = main
	}
	libraries := map[string]string{
		"github.com/twmb/franz-go":                "franz-go",
		"github.com/twmb/franz-go/pkg/kfake":      "kfake",
		"github.com/twmb/franz-go/pkg/kadm":       "kadm",
		"github.com/HdrHistogram/hdrhistogram-go": "hdrhistogram-go",
	}
	for _, dep := range info.Deps {
		if name, ok := libraries[dep.Path]; ok {
			v[name] = dep.Version
		}
	}
	return v
}

// moduleVersion is one dependency's version, or "unknown".
func moduleVersion(name string) string {
	if v, ok := Versions()[name]; ok {
		return v
	}
	return "unknown"
}
