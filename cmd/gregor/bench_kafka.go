package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/testcontainers/testcontainers-go/modules/kafka"

	"github.com/gregor-dst/gregor/bench"
)

// kafkaImage is the image testcontainers-go's Kafka module documents and
// tests with (KRaft needs confluent-local 7.4.0 or later).
const kafkaImage = "confluentinc/confluent-local:7.5.0"

// kafkaTarget is Apache Kafka in a container for gregor bench, started by
// testcontainers-go's Kafka module: one combined broker and controller in
// Confluent's confluent-local image, a development configuration (internal
// topics with RF 1, no forced fsync). Without a Docker engine, or when the
// image is neither in the engine's store nor pullable, the target is
// skipped with the reason.
type kafkaTarget struct {
	image string
	log   io.Writer // pulls report here

	ctr *kafka.KafkaContainer
}

// parseKafkaTarget reads "kafka[:image=REF]".
func parseKafkaTarget(spec string) (*kafkaTarget, error) {
	p, err := targetParams(spec, "image")
	if err != nil {
		return nil, err
	}
	t := &kafkaTarget{image: kafkaImage, log: os.Stderr}
	if v := p["image"]; v != "" {
		t.image = v
	}
	return t, nil
}

func (t *kafkaTarget) Name() string { return "kafka" }

// Setup checks the engine and the image (pulling it if need be) before the
// module runs the container, so that a missing image is a quick skip
// rather than the module's pull retries. The endpoint's Info is filled in
// as far as Setup got, for a skipped run's result.
func (t *kafkaTarget) Setup(ctx context.Context) (bench.Endpoint, error) {
	ep := bench.Endpoint{Info: t.info()}
	cli, engine, err := dockerEngine(ctx)
	if err != nil {
		return ep, err
	}
	ep.Info.Versions["docker engine"] = engine.Version
	img, err := ensurePulled(ctx, cli, t.image, t.log)
	_ = cli.Close()
	if err != nil {
		return ep, err
	}
	ep.Info.Versions["kafka image"] = fmt.Sprintf("%s %s", t.image, shortID(img.ID))
	t.ctr, err = kafka.Run(ctx, t.image)
	if err != nil {
		return ep, fmt.Errorf("starting Kafka (%s): %w", t.image, err)
	}
	if ep.Bootstrap, err = t.ctr.Brokers(ctx); err != nil {
		return ep, fmt.Errorf("Kafka's published port: %w", err)
	}
	return ep, nil
}

// info is what the target is, known before anything runs: the module's
// configuration fixes it.
func (t *kafkaTarget) info() bench.TargetInfo {
	return bench.TargetInfo{
		Name: t.Name(),
		Description: fmt.Sprintf("Apache Kafka, one combined broker and controller (KRaft) in a Docker container "+
			"(image %s, testcontainers-go's Kafka module): a development configuration, not a production peer", t.image),
		Brokers: 1,
		Durability: bench.Durability{
			Fsync:      "never on the ack path (log.flush.interval.messages=MaxInt: the OS writes back)",
			Persistent: true,
			Notes: "a single broker: nothing is replicated, internal topics have RF 1; data in the container's " +
				"writable layer, removed at teardown; clients reach it through its port published on this host",
		},
		BrokerConfigs: map[string]string{
			"log.flush.interval.messages":      strconv.Itoa(math.MaxInt),
			"offsets.topic.replication.factor": "1",
		},
		Versions: map[string]string{
			"kafka image":       t.image,
			"testcontainers-go": moduleVersion("github.com/testcontainers/testcontainers-go/modules/kafka"),
		},
	}
}

// Teardown removes the container.
func (t *kafkaTarget) Teardown(ctx context.Context) error {
	if t.ctr == nil {
		return nil
	}
	err := t.ctr.Terminate(ctx)
	t.ctr = nil
	if err != nil {
		return fmt.Errorf("removing the Kafka container: %w", err)
	}
	return nil
}
