package broker

// ListPartitionReassignments: v0
//
// Behavior:
//   - Forwarded to the active controller: the reassignments in progress,
//     with the replicas being added and removed.
//
// Version notes:
//   - v0: flexible.

func init() { regKey(46, 0, 0, (*Broker).forward) }
