// Package configs is the registry of the Kafka topic and broker
// configuration keys gregor understands, under Kafka's own names: their
// types, defaults (Kafka 4.x), validation, and how a value is resolved
// from a topic's overrides down through the broker's dynamic, static and
// default configs. DescribeConfigs, AlterConfigs, IncrementalAlterConfigs
// and CreateTopics are answered from here, so clients and tools such as
// kafka-configs.sh see what Kafka would show them, including Kafka's error
// messages; the broker builds its storage and partition settings from the
// typed accessors (TopicSettingsOf, BrokerSettingsOf).
//
// The definitions are two tables (topicDefs, brokerDefs) of Def values
// rather than code per key; validators are small constructors (atLeast,
// between, oneOf, listOf, …) whose messages are Kafka's ConfigDef texts.
//
// Resolution follows Kafka. A topic config comes from, in order: the
// topic's override (DYNAMIC_TOPIC_CONFIG), then its broker synonyms — for
// example retention.ms ← log.retention.ms ← log.retention.minutes ←
// log.retention.hours — looked up in the broker's own dynamic configs
// (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic defaults
// (DYNAMIC_DEFAULT_BROKER_CONFIG) and the static configs the broker
// started with (STATIC_BROKER_CONFIG), and finally the default
// (DEFAULT_CONFIG). Only the first broker synonym of each topic config is
// dynamic, as in Kafka (log.retention.ms is, log.retention.hours is not).
//
// gregor defines no settings of its own yet; any it adds will live under
// the "gregor." prefix so they never collide with Kafka's names.
//
// Owns: config names, types, defaults, validation, resolution, the
// incremental-alter semantics, and parsing key=value for the CLI.
// Must not import: sim, workloads, checker, bench (or any other gregor
// package); it obeys the determinism rules (internal/detcheck): every
// Set is kept sorted, and nothing iterates a map into output.
package configs
