package broker

// ElectLeaders: v0–2
//
// Behavior:
//   - Forwarded to the active controller: preferred election (the first
//     replica leads again if it is in the ISR) or, from v1, unclean
//     election for partitions without a leader.
//
// Version notes:
//   - v1+: ElectionType. v2+: flexible.

func init() { regKey(43, 0, 2, (*Broker).forward) }
