package kclient

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// partitionMeta is what the metadata says of one partition.
type partitionMeta struct {
	leader      int32
	leaderEpoch int32
	err         error
}

// topicMeta is what the metadata says of one topic: a topic-level error,
// or its partitions by index.
type topicMeta struct {
	err        error
	partitions []partitionMeta
}

// metadata is the client's cache of brokers and of the topics it uses
// (wanted), refreshed on demand: one refresh at a time, with the callers
// that arrive meanwhile waiting for it, or for the next one if they want a
// topic the running one does not ask for.
type metadata struct {
	cl      *Client
	brokers map[int32]string // node id → "host:port"; looked up only
	ids     []int32          // brokers' ids, sorted
	// controller is the node the metadata names as controller, -1 if none.
	controller int32
	topics     map[string]*topicMeta
	wanted     map[string]bool // looked up only; wantedList is the order
	// wantedList is wanted in sorted order, which is how requests list it.
	wantedList []string
	updatedMs  int64 // monotonic time of the last good answer
	known      bool  // at least one good answer
	stale      bool  // an error said our routing is wrong

	inFlight bool
	waiters  []func(error) // want the refresh in flight
	next     []func(error) // want the refresh after it
	again    bool          // wanted grew while one was in flight
}

func newMetadata(cl *Client) *metadata {
	return &metadata{cl: cl, controller: -1, brokers: map[int32]string{}, topics: map[string]*topicMeta{}, wanted: map[string]bool{}}
}

// brokerAddr is a node's address, if the metadata lists it.
func (m *metadata) brokerAddr(id int32) (string, bool) {
	addr, ok := m.brokers[id]
	return addr, ok
}

// brokerAddrs lists the known brokers' addresses in node id order.
func (m *metadata) brokerAddrs() []string {
	out := make([]string, len(m.ids))
	for i, id := range m.ids {
		out[i] = m.brokers[id]
	}
	return out
}

// markStale makes the next lookup refresh first.
func (m *metadata) markStale() { m.stale = true }

func (m *metadata) fresh() bool {
	return m.known && !m.stale && m.cl.nowMs()-m.updatedMs <= m.cl.cfg.MetadataMaxAgeMs
}

// want adds topics to those every refresh asks for. It reports whether
// any was new, and fails past PartitionsMax topics (each holds at least
// one partition, so this bounds the table).
func (m *metadata) want(topics []string) (bool, error) {
	added := false
	for _, t := range topics {
		if m.wanted[t] {
			continue
		}
		if len(m.wanted) >= m.cl.cfg.PartitionsMax {
			return added, fmt.Errorf("%w: %d topics tracked", ErrQueueFull, len(m.wanted))
		}
		m.wanted[t] = true
		m.wantedList = append(m.wantedList, t)
		added = true
	}
	if added {
		slices.Sort(m.wantedList)
	}
	return added, nil
}

// refresh asks for the wanted topics (plus topics) and calls done once an
// answer, or an error, is in.
func (m *metadata) refresh(topics []string, done func(error)) {
	added, err := m.want(topics)
	if err != nil {
		m.cl.later(func() { done(err) })
		return
	}
	if len(m.waiters)+len(m.next) >= m.cl.cfg.MetadataWaitersMax {
		m.cl.later(func() { done(fmt.Errorf("%w: %d metadata waiters", ErrQueueFull, len(m.waiters)+len(m.next))) })
		return
	}
	switch {
	case !m.inFlight:
		m.waiters = append(m.waiters, done)
		m.start()
	case added:
		m.again = true
		m.next = append(m.next, done)
	default:
		m.waiters = append(m.waiters, done)
	}
}

func (m *metadata) start() {
	m.inFlight = true
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = make([]kmsg.MetadataRequestTopic, len(m.wantedList))
	for i, t := range m.wantedList {
		req.Topics[i] = kmsg.NewMetadataRequestTopic()
		req.Topics[i].Topic = kmsg.StringPtr(t)
	}
	m.cl.Request(AnyBroker, req, func(resp kmsg.Response, err error) {
		if err == nil {
			err = m.apply(resp.(*kmsg.MetadataResponse), false)
		}
		if err != nil {
			m.cl.rotateAny()
		}
		m.finish(err)
	})
}

// finish hands the result to the waiters and starts the next refresh if
// some wait for it.
func (m *metadata) finish(err error) {
	m.inFlight = false
	waiters := m.waiters
	m.waiters = nil
	if m.again {
		m.again = false
		m.waiters, m.next = m.next, nil
		m.start()
	}
	for _, w := range waiters {
		w(err)
	}
}

// close fails every waiter.
func (m *metadata) close() {
	waiters := append(m.waiters, m.next...)
	m.waiters, m.next, m.again = nil, nil, false
	for _, w := range waiters {
		w(ErrClosed)
	}
}

// apply takes in an answer: the broker list is replaced, as Kafka's
// clients do, and the wanted topics (or, with all, every topic in the
// answer up to the bound) are updated.
func (m *metadata) apply(resp *kmsg.MetadataResponse, all bool) error {
	if len(resp.Brokers) == 0 {
		return fmt.Errorf("%w: metadata lists no brokers", ErrBadResponse)
	}
	brokers := make(map[int32]string, len(resp.Brokers))
	ids := make([]int32, 0, len(resp.Brokers))
	for _, b := range resp.Brokers {
		if _, dup := brokers[b.NodeID]; !dup {
			ids = append(ids, b.NodeID)
		}
		brokers[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	slices.Sort(ids)
	m.brokers, m.ids, m.controller = brokers, ids, resp.ControllerID
	for _, t := range resp.Topics {
		if t.Topic == nil || !(m.wanted[*t.Topic] || all && len(m.topics) < m.cl.cfg.PartitionsMax) {
			continue
		}
		m.topics[*t.Topic] = topicFrom(t)
	}
	m.known, m.stale, m.updatedMs = true, false, m.cl.nowMs()
	return nil
}

func topicFrom(t kmsg.MetadataResponseTopic) *topicMeta {
	tm := &topicMeta{err: kerr.ErrorForCode(t.ErrorCode)}
	count := 0
	for _, p := range t.Partitions {
		if p.Partition >= 0 && int(p.Partition) < len(t.Partitions) {
			count = max(count, int(p.Partition)+1)
		}
	}
	tm.partitions = make([]partitionMeta, count)
	for i := range tm.partitions {
		tm.partitions[i] = partitionMeta{leader: -1, err: kerr.LeaderNotAvailable}
	}
	for _, p := range t.Partitions {
		if p.Partition >= 0 && int(p.Partition) < count {
			tm.partitions[p.Partition] = partitionMeta{leader: p.Leader, leaderEpoch: p.LeaderEpoch, err: kerr.ErrorForCode(p.ErrorCode)}
		}
	}
	return tm
}

// lookup finds a partition's leader in the cache as it is.
func (m *metadata) lookup(topic string, partition int32) (leader int32, addr string, err error) {
	tm := m.topics[topic]
	switch {
	case tm == nil:
		return -1, "", fmt.Errorf("%w: no metadata for %s", kerr.UnknownTopicOrPartition, topic)
	case tm.err != nil:
		return -1, "", tm.err
	case partition < 0 || int(partition) >= len(tm.partitions):
		return -1, "", fmt.Errorf("%w: %s has %d partitions, not %d", kerr.UnknownTopicOrPartition, topic, len(tm.partitions), partition+1)
	}
	pm := tm.partitions[partition]
	if pm.err != nil && pm.leader < 0 {
		return -1, "", pm.err
	}
	if pm.leader < 0 {
		return -1, "", fmt.Errorf("%w: %s/%d", ErrNoLeader, topic, partition)
	}
	addr, ok := m.brokers[pm.leader]
	if !ok {
		return -1, "", fmt.Errorf("%w: leader %d of %s/%d", ErrUnknownNode, pm.leader, topic, partition)
	}
	return pm.leader, addr, nil
}

// leaderFor finds a partition's leader, refreshing first when the cache is
// stale, old, or does not know it. done may run before leaderFor returns
// when the cache answers.
func (m *metadata) leaderFor(topic string, partition int32, done func(addr string, err error)) {
	if m.fresh() && m.wanted[topic] {
		if _, addr, err := m.lookup(topic, partition); err == nil {
			done(addr, nil)
			return
		}
	}
	m.refresh([]string{topic}, func(err error) {
		if err != nil {
			done("", err)
			return
		}
		_, addr, err := m.lookup(topic, partition)
		done(addr, err)
	})
}

// Metadata asks any broker for the named topics (nil: every topic),
// retrying transport errors until RetryTimeoutMs, and updates the cache
// with the answer. Topic-level errors are in the answer.
func (cl *Client) Metadata(topics []string, done func(*kmsg.MetadataResponse, error)) {
	var out *kmsg.MetadataResponse
	if _, err := cl.meta.want(topics); err != nil {
		cl.later(func() { done(nil, err) })
		return
	}
	cl.retrying(func(step func(error)) {
		req := kmsg.NewPtrMetadataRequest()
		if topics != nil {
			req.Topics = make([]kmsg.MetadataRequestTopic, len(topics))
			for i, t := range topics {
				req.Topics[i] = kmsg.NewMetadataRequestTopic()
				req.Topics[i].Topic = kmsg.StringPtr(t)
			}
		}
		cl.Request(AnyBroker, req, func(resp kmsg.Response, err error) {
			if err != nil {
				cl.rotateAny()
				step(err)
				return
			}
			out = resp.(*kmsg.MetadataResponse)
			step(cl.meta.apply(out, topics == nil))
		})
	}, func(err error) {
		if err != nil {
			done(nil, err)
			return
		}
		done(out, nil)
	})
}
