package broker

// AlterPartitionReassignments: v0–1
//
// Behavior:
//   - Forwarded to the active controller, which moves partitions to new
//     replica sets as Kafka does: the target replicas are added, and the
//     old ones removed once the new ones are in the ISR. A null replica
//     list cancels a reassignment.
//
// Version notes:
//   - v0+: flexible. v1+: AllowReplicationFactorChange.

func init() { regKey(45, 0, 1, (*Broker).forward) }
