package broker

// CreateTopics: v2–7
//
// Behavior:
//   - Forwarded to the active controller (broker/controller), which
//     validates names, counts, assignments and configs with Kafka's codes
//     and messages, places the replicas over the unfenced brokers and
//     answers once the topic is in the committed metadata log; its answer
//     is relayed as is. No controller within the request's timeout:
//     REQUEST_TIMED_OUT for every topic (NOT_CONTROLLER if none was ever
//     known).
//
// Version notes:
//   - v5+: flexible; the answer carries partitions, replication factor and
//     the topic's configs. v7+: topic id.

func init() { regKey(19, 2, 7, (*Broker).forward) }
