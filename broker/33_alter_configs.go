package broker

// AlterConfigs: v0–2
//
// Behavior:
//   - Forwarded to the active controller: legacy whole-set semantics (the
//     configs given become the resource's complete override set) for topic
//     resources and broker resources ("<id>" or "" for the cluster
//     default), validated with Kafka's codes and messages. Every broker
//     applies the committed change to its topics' settings and logs.
//
// Version notes:
//   - v2+: flexible.

func init() { regKey(33, 0, 2, (*Broker).forward) }
