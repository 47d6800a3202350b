package reports

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/bench"
)

// fakeResult is a three-window run of one workload against target at
// rate msg/s; slow scales its latencies.
func fakeResult(target string, rate, slow float64, fsync string) *bench.Result {
	const workload, size = "1-topic-16-partitions-1kb", 1024
	r := &bench.Result{
		Workload: workload, Driver: target, MessageSize: size, Topics: 1, Partitions: 16,
		ProducersPerTopic: 1, ConsumersPerTopic: 1, Complete: true,
	}
	for i := range 3 {
		got := rate * (0.9 + 0.05*float64(i))
		r.PublishRate = append(r.PublishRate, got)
		r.ConsumeRate = append(r.ConsumeRate, got*0.98)
		r.PublishErrorRate = append(r.PublishErrorRate, 0)
		r.Backlog = append(r.Backlog, int64(100*(i+1)))
		r.TargetRate = append(r.TargetRate, rate)
		r.PublishBytesRate = append(r.PublishBytesRate, got*size)
		r.ConsumeBytesRate = append(r.ConsumeBytesRate, got*size*0.98)
		r.WindowSeconds = append(r.WindowSeconds, 10)
		r.PublishLatency99pct = append(r.PublishLatency99pct, slow*(5+float64(i)))
		r.PublishDelayLatency99pct = append(r.PublishDelayLatency99pct, int64(slow*(200+50*float64(i))))
	}
	r.AggregatedPublishLatency50pct, r.AggregatedPublishLatency75pct = slow*1, slow*1.5
	r.AggregatedPublishLatency95pct, r.AggregatedPublishLatency99pct = slow*3, slow*6
	r.AggregatedPublishLatency999pct, r.AggregatedPublishLatency9999pct = slow*12, slow*20
	r.AggregatedPublishLatencyMax = slow * 31.5
	r.AggregatedEndToEndLatency50pct, r.AggregatedEndToEndLatency99pct, r.AggregatedEndToEndLatencyMax = slow*2, slow*9, slow*40
	r.AggregatedPublishDelayLatency99pct = int64(slow * 250)
	for _, p := range []float64{0, 10, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100} {
		r.AggregatedPublishLatencyQuantiles = append(r.AggregatedPublishLatencyQuantiles, bench.Quantile{Percentile: p, Value: slow * (1 + p*p/1000)})
		r.AggregatedPublishDelayLatencyQuantiles = append(r.AggregatedPublishDelayLatencyQuantiles, bench.Quantile{Percentile: p, Value: slow * p * 3})
		r.AggregatedEndToEndLatencyQuantiles = append(r.AggregatedEndToEndLatencyQuantiles, bench.Quantile{Percentile: p, Value: slow * (2 + p*p/800)})
	}
	r.Totals = bench.Totals{Published: 30_000, PublishErrors: 2, PublishedBytes: 30_000 * size, Consumed: 30_000, ConsumedBytes: 30_000 * size, ExpectedConsumed: 30_000, Drained: true}
	r.Setup = bench.Setup{
		Target: bench.TargetInfo{
			Name: target, Description: target + " in process", Brokers: 3,
			Durability:    bench.Durability{Fsync: fsync, Persistent: fsync != "none", Replicated: true, Notes: "test target"},
			BrokerConfigs: map[string]string{"min.insync.replicas": "2"},
			Versions:      map[string]string{target: "v1.2.3"},
		},
		Workload:            bench.Workload{Name: workload, ProducerRate: rate, MessageSize: size, Topics: 1, PartitionsPerTopic: 16},
		TestDurationSeconds: 30, WarmupDurationSeconds: 5, WindowSeconds: 10,
		ClientConfigs:     map[string]string{"acks": "all", "linger.ms": "1"},
		BrokerConfigs:     map[string]string{"log.flush.interval.messages": "1"},
		ReplicationFactor: 3,
		Versions:          map[string]string{"go": "go1.26.0"},
		Machine:           bench.Machine{GOOS: "linux", GOARCH: "amd64", NumCPU: 8, GOMAXPROCS: 8, CPUModel: "Test CPU", GoVersion: "go1.26.0"},
		PhysicalLimits:    &bench.PhysicalLimits{LoopbackTCPBytesPerSecond: 4e9, DiskWriteFsyncBytesPerSecond: 5e8, DiskFsyncsPerSecond: 480, DiskWriteBytes: 1 << 20, DiskDir: "/tmp", MeasureSeconds: 1},
		StartTime:         time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		EndTime:           time.Date(2026, 1, 2, 3, 4, 40, 0, time.UTC),
	}
	return r
}

// containsAll reports each missing string, not the whole (large) text.
func containsAll(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q", w)
		}
	}
}

var embeddedPNG = regexp.MustCompile(`src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)

// embeddedImages decodes every image embedded in an HTML report.
func embeddedImages(t *testing.T, html string) []image.Image {
	t.Helper()
	var out []image.Image
	for _, m := range embeddedPNG.FindAllStringSubmatch(html, -1) {
		data, err := base64.StdEncoding.DecodeString(m[1])
		require.NoError(t, err)
		out = append(out, decodePNG(t, data))
	}
	return out
}

func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	require.NotEmpty(t, data)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	b := img.Bounds()
	require.Positive(t, b.Dx())
	require.Positive(t, b.Dy())
	require.True(t, notBlank(img), "image is one flat color")
	return img
}

// notBlank: some pixel differs from the corner's (the background).
func notBlank(img image.Image) bool {
	b := img.Bounds()
	bg := color.RGBAModel.Convert(img.At(b.Min.X, b.Min.Y))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) != bg {
				return true
			}
		}
	}
	return false
}

// colored counts the pixels within a small distance of c (lines are
// anti-aliased at their edges, not at their core).
func colored(img image.Image, c color.Color) int {
	want := color.RGBAModel.Convert(c).(color.RGBA)
	near := func(a, b uint8) bool { return a-b < 8 || b-a < 8 }
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			got := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if near(got.R, want.R) && near(got.G, want.G) && near(got.B, want.B) {
				n++
			}
		}
	}
	return n
}
