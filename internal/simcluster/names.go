package simcluster

import "strconv"

// A fault schedule names nodes by index (faults.Target): the brokers
// first, then the clients in slots that keep their index when a shrunk
// run has fewer clients of a kind: producer i is slot 3i, acks=0 producer
// i slot 3i+1, consumer i slot 3i+2.
const (
	slotProducer = iota
	slotAcks0
	slotConsumer
	slotKinds
)

// clientPrefixes are the client names' prefixes, by slot kind.
var clientPrefixes = [slotKinds]string{"p", "f", "c"}

// clientName is the name of client i of a slot kind.
func clientName(kind, i int) string { return clientPrefixes[kind] + strconv.Itoa(i) }

// slot is the schedule index of client i of a kind.
func (o Options) slot(kind, i int) int { return o.Brokers + slotKinds*i + kind }

// clientCounts are the clients of each kind the run has.
func (o Options) clientCounts() [slotKinds]int {
	return [slotKinds]int{o.Producers, o.Acks0Producers, o.Consumers}
}

// faultClients are the schedule indexes of the clients a client crash may
// hit, ascending.
func (o Options) faultClients() []int {
	var out []int
	counts := o.clientCounts()
	for i := 0; ; i++ {
		added := false
		for kind, n := range counts {
			if i < n {
				out, added = append(out, o.slot(kind, i)), true
			}
		}
		if !added {
			return out
		}
	}
}

// nodeName names a schedule index: b0 … for brokers, p0, f0, c0 … for
// clients.
func (o Options) nodeName(i int) string {
	if i < o.Brokers {
		return BrokerName(i)
	}
	i -= o.Brokers
	return clientName(i%slotKinds, i/slotKinds)
}

// nodeIndex reads a name nodeName writes. A client the run does not have
// is accepted (a shrunk run may have dropped it): its steps are skipped.
func (o Options) nodeIndex(s string) (int, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || strconv.Itoa(n) != s[1:] {
		return 0, false
	}
	if s[0] == 'b' {
		return n, n < o.Brokers
	}
	for kind, p := range clientPrefixes {
		if s[:1] == p && n < 1000 {
			return o.slot(kind, n), true
		}
	}
	return 0, false
}
