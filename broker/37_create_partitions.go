package broker

// CreatePartitions: v0–3
//
// Behavior:
//   - Forwarded to the active controller, which raises the count (lowering
//     it or asking for the current count is INVALID_PARTITIONS with Kafka's
//     messages), places the new replicas and answers once they are
//     committed. The brokers holding them open their logs as they apply
//     the records.
//
// Version notes:
//   - v2+: flexible.

func init() { regKey(37, 0, 3, (*Broker).forward) }
