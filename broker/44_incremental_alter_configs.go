package broker

// IncrementalAlterConfigs: v0–1
//
// Behavior:
//   - Forwarded to the active controller: SET, DELETE, APPEND and SUBTRACT
//     on the resource's current overrides, validated as a whole before
//     anything changes, committed to the metadata log, then applied by
//     every broker.
//
// Version notes:
//   - v1+: flexible.

func init() { regKey(44, 0, 1, (*Broker).forward) }
