package main

import (
	"context"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/gregor-dst/gregor/bench"
)

// containerWorkload is a light load for the container tests: the CI
// machine has two cores for the brokers, the client and other tests.
const containerWorkload = `name: container smoke
topics: 1
partitionsPerTopic: 3
messageSize: 1024
subscriptionsPerTopic: 1
consumerPerSubscription: 1
producersPerTopic: 1
producerRate: 2000
testDurationMinutes: 1
warmupDurationMinutes: 0
`

// benchArgs are gregor bench's arguments for a short run of the light
// workload against target.
func benchArgs(t *testing.T, target, out string) []string {
	wl := filepath.Join(t.TempDir(), "container-smoke.yaml")
	require.NoError(t, os.WriteFile(wl, []byte(containerWorkload), 0o644))
	return []string{"bench", "--workload", wl, "--target", target, "--duration", "4s", "--warmup", "0s",
		"--window", "1s", "--limits-duration", "-1s", "--out", out}
}

// labelled counts the containers and networks the container target
// labels, so that the test can tell its teardown removed what it made.
func labelled(t *testing.T, ctx context.Context) (containers, networks int) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	require.NoError(t, err)
	defer cli.Close()
	f := client.Filters{}.Add("label", containerLabel)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	require.NoError(t, err)
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	require.NoError(t, err)
	return len(cs.Items), len(ns.Items)
}

// TestBenchGregorContainer runs gregor bench against a 3-broker gregor
// cluster in containers: the result has throughput and says what ran, and
// teardown leaves no container or network behind. The image is built
// (scripts/build-image) only if the engine does not have it yet.
func TestBenchGregorContainer(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	bin := gregorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	containersBefore, networksBefore := labelled(t, ctx)

	out := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, benchArgs(t, "gregor-container:brokers=3", out)...)
	start := time.Now()
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	t.Logf("gregor bench on gregor-container took %s:\n%s", time.Since(start).Round(time.Millisecond), got)
	if m := regexp.MustCompile(`skipped: .*`).Find(got); m != nil {
		t.Skipf("the target was %s", m)
	}

	results, err := bench.ReadResults(out)
	require.NoError(t, err)
	require.Len(t, results, 1)
	r := results[0]
	require.True(t, r.Complete)
	require.NotEmpty(t, r.PublishRate)
	require.Positive(t, r.Totals.Published)
	require.Positive(t, r.PublishRate[len(r.PublishRate)-1], "publish rate in the last window")
	require.Positive(t, r.ConsumeRate[len(r.ConsumeRate)-1], "consume rate in the last window")
	require.Equal(t, r.Totals.ExpectedConsumed, r.Totals.Consumed, "every acknowledged record consumed")

	target := r.Setup.Target
	require.Equal(t, "gregor-container", target.Name)
	require.Equal(t, 3, target.Brokers)
	require.Contains(t, target.Description, "3 brokers in Docker containers on a Docker network")
	require.True(t, target.Durability.Replicated)
	require.True(t, target.Durability.Persistent)
	require.Equal(t, 3, r.Setup.ReplicationFactor)
	require.Contains(t, target.Versions, "gregor image")

	containersAfter, networksAfter := labelled(t, ctx)
	require.LessOrEqual(t, containersAfter, containersBefore, "teardown removes the brokers' containers")
	require.LessOrEqual(t, networksAfter, networksBefore, "teardown removes the network")
}

// TestBenchKafkaSkipped asks for the Kafka target with an image tag that
// exists nowhere: the run is reported as skipped with the reason (or, with
// no Docker engine, skipped for that), is not a failure, and writes a
// result recording the skip (what the target is, no measurements), which
// gregor report shows as skipped. It needs neither Docker nor a registry.
func TestBenchKafkaSkipped(t *testing.T) {
	bin := gregorBinary(t)
	const img = "confluentinc/confluent-local:7.5.0-gregor-test-missing"
	out := t.TempDir()
	start := time.Now()
	got, err := exec.Command(bin, benchArgs(t, "kafka:image="+img, out)...).CombinedOutput()
	require.NoError(t, err, "a skipped target is not a failure:\n%s", got)
	reason := regexp.MustCompile(`on kafka:image=\S+: skipped: ((image ` + img + ` not available|no Docker engine): \S.*)`).FindSubmatch(got)
	require.NotNil(t, reason, "%s", got)
	require.Less(t, time.Since(start), time.Minute, "a skip is quick")

	results, err := bench.ReadResults(out)
	require.NoError(t, err)
	require.Len(t, results, 1, "the skip is recorded")
	r := results[0]
	require.Equal(t, string(reason[1]), r.Skipped)
	require.Contains(t, string(got), "written "+r.FileName())
	require.False(t, r.Complete)
	require.Empty(t, r.PublishRate, "no measurements")
	require.Zero(t, r.Totals.Published)
	require.Equal(t, "kafka", r.Setup.Target.Name)
	require.Contains(t, r.Setup.Target.Description, img)
	require.Contains(t, r.Setup.Target.Durability.Fsync, "never on the ack path")
	require.Equal(t, "container smoke", r.Setup.Workload.Name)

	report := filepath.Join(out, "report.html")
	got, err = exec.Command(bin, "report", "--in", out, "--out", report).CombinedOutput()
	require.NoError(t, err, "%s", got)
	page, err := os.ReadFile(report)
	require.NoError(t, err)
	require.Contains(t, string(page), "<td>status</td><td>skipped: "+html.EscapeString(r.Skipped)+"</td>")
	require.Contains(t, string(page), "Every run of this workload was skipped: nothing to chart.")
	require.NotContains(t, string(page), "<img", "nothing charted")
}

// TestBenchKafka runs the Kafka target when its default image is already in
// the engine's image store (it never pulls it: the image is large and CI
// has no registry), and checks the result says what ran.
func TestBenchKafka(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	require.NoError(t, err)
	_, have, err := imageHere(ctx, cli, kafkaImage)
	cli.Close()
	require.NoError(t, err)
	if !have {
		t.Skipf("image %s is not in the engine's image store; this test does not pull it", kafkaImage)
	}
	bin := gregorBinary(t)
	out := t.TempDir()
	got, err := exec.CommandContext(ctx, bin, benchArgs(t, "kafka", out)...).CombinedOutput()
	require.NoError(t, err, "%s", got)
	results, err := bench.ReadResults(out)
	require.NoError(t, err)
	require.Len(t, results, 1)
	r := results[0]
	require.Positive(t, r.Totals.Published)
	require.Equal(t, "kafka", r.Setup.Target.Name)
	require.Equal(t, 1, r.Setup.Target.Brokers)
	require.False(t, r.Setup.Target.Durability.Replicated)
}
