package broker

// DeleteTopics: v1–6
//
// Behavior:
//   - Forwarded to the active controller, which removes the topics from
//     the metadata (UNKNOWN_TOPIC_OR_PARTITION, or UNKNOWN_TOPIC_ID by id,
//     for a missing one). Every replica's broker then deletes its logs
//     when it applies the removal; parked fetches on them answer with an
//     error at once.
//
// Version notes:
//   - v4+: flexible. v5+: error messages. v6+: topics by id (KIP-516).

func init() { regKey(20, 1, 6, (*Broker).forward) }
