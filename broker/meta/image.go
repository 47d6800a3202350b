package meta

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
)

// Image is the metadata state that the records build: what every broker
// acts on. It changes only through Apply, in log order.
type Image struct {
	// Offset is the metadata log offset of the last applied entry.
	Offset   int64
	Brokers  map[int32]*Broker
	Topics   map[string]*Topic
	TopicIDs map[[16]byte]*Topic
	// ClusterConfigs are the dynamic cluster-wide broker defaults;
	// BrokerConfigs the dynamic configs of single brokers.
	ClusterConfigs map[string]string
	BrokerConfigs  map[int32]map[string]string
	// NextProducerID is the first producer id not yet reserved.
	NextProducerID int64
	// NextBrokerEpoch is the epoch the next registration gets.
	NextBrokerEpoch int64
}

// Broker is a registered broker incarnation.
type Broker struct {
	ID            int32
	Epoch         int64
	Host          string
	Port          int32
	Rack          string
	IncarnationID [16]byte
	Fenced        bool
	// InControlledShutdown: the broker asked to shut down; it may not
	// lead or join an ISR (see ShutdownBroker).
	InControlledShutdown bool `json:",omitempty"`
}

// Topic is a topic and its partitions, in partition order.
type Topic struct {
	Name       string
	ID         [16]byte
	Partitions []*Partition
	Configs    map[string]string
}

// Partition is one partition's replication state.
type Partition struct {
	TopicID        [16]byte
	Index          int32
	Replicas       []int32
	ISR            []int32
	Leader         int32 // -1: none (no eligible replica)
	LeaderEpoch    int32
	PartitionEpoch int32
	// Adding and Removing are an ongoing reassignment's replicas, nil
	// when none is in progress (see Reassignment).
	Adding   []int32 `json:",omitempty"`
	Removing []int32 `json:",omitempty"`
}

// Reassigning reports whether a reassignment of p is in progress.
func (p *Partition) Reassigning() bool { return len(p.Adding) > 0 || len(p.Removing) > 0 }

// NoLeader marks a partition without a leader.
const NoLeader = -1

// NewImage is the empty image before the first record.
func NewImage() *Image {
	return &Image{
		Offset:          -1,
		Brokers:         map[int32]*Broker{},
		Topics:          map[string]*Topic{},
		TopicIDs:        map[[16]byte]*Topic{},
		ClusterConfigs:  map[string]string{},
		BrokerConfigs:   map[int32]map[string]string{},
		NextBrokerEpoch: 1,
	}
}

// Apply applies one record. A record that fails changes nothing.
// ErrStale means the record no longer applies (it referred to a removed
// topic or an older broker incarnation); any other error is a record that
// contradicts the image, which the controller must never write. Apply does
// not move Offset: the caller sets it once per log entry.
func (im *Image) Apply(r Record) error {
	switch {
	case r.RegisterBroker != nil:
		return im.applyRegister(r.RegisterBroker)
	case r.FenceBroker != nil:
		return im.setFenced(r.FenceBroker.ID, r.FenceBroker.Epoch, true)
	case r.UnfenceBroker != nil:
		return im.setFenced(r.UnfenceBroker.ID, r.UnfenceBroker.Epoch, false)
	case r.ShutdownBroker != nil:
		return im.applyShutdownBroker(r.ShutdownBroker)
	case r.Topic != nil:
		return im.applyTopic(r.Topic)
	case r.Partition != nil:
		return im.applyPartition(r.Partition)
	case r.PartitionChange != nil:
		return im.applyChange(r.PartitionChange)
	case r.RemoveTopic != nil:
		return im.applyRemove(r.RemoveTopic)
	case r.Config != nil:
		return im.applyConfig(r.Config)
	case r.ProducerIDs != nil:
		return im.applyProducerIDs(r.ProducerIDs)
	}
	return fmt.Errorf("meta: empty record")
}

func (im *Image) applyRegister(r *RegisterBroker) error {
	if old := im.Brokers[r.ID]; old != nil && old.Epoch >= r.Epoch {
		return fmt.Errorf("meta: broker %d registered at epoch %d after epoch %d", r.ID, r.Epoch, old.Epoch)
	}
	im.Brokers[r.ID] = &Broker{ID: r.ID, Epoch: r.Epoch, Host: r.Host, Port: r.Port, Rack: r.Rack, IncarnationID: r.IncarnationID, Fenced: r.Fenced}
	im.NextBrokerEpoch = max(im.NextBrokerEpoch, r.Epoch+1)
	return nil
}

func (im *Image) setFenced(id int32, epoch int64, fenced bool) error {
	b := im.Brokers[id]
	if b == nil || b.Epoch != epoch {
		return ErrStale
	}
	b.Fenced = fenced
	return nil
}

func (im *Image) applyShutdownBroker(r *ShutdownBroker) error {
	b := im.Brokers[r.ID]
	if b == nil || b.Epoch != r.Epoch {
		return ErrStale
	}
	b.InControlledShutdown = true
	return nil
}

func (im *Image) applyTopic(r *TopicRecord) error {
	if im.Topics[r.Name] != nil || im.TopicIDs[r.ID] != nil {
		return fmt.Errorf("meta: topic %s (%x) exists", r.Name, r.ID)
	}
	t := &Topic{Name: r.Name, ID: r.ID, Configs: map[string]string{}}
	im.Topics[r.Name] = t
	im.TopicIDs[r.ID] = t
	return nil
}

func (im *Image) applyPartition(r *PartitionRecord) error {
	t := im.TopicIDs[r.TopicID]
	if t == nil {
		return ErrStale
	}
	if int(r.Partition) != len(t.Partitions) {
		return fmt.Errorf("meta: topic %s: partition %d created after %d", t.Name, r.Partition, len(t.Partitions))
	}
	if err := checkPartition(r.Replicas, r.ISR, r.Leader); err != nil {
		return fmt.Errorf("meta: topic %s partition %d: %w", t.Name, r.Partition, err)
	}
	if err := checkReassignment(r.Replicas, r.Adding, r.Removing); err != nil {
		return fmt.Errorf("meta: topic %s partition %d: %w", t.Name, r.Partition, err)
	}
	t.Partitions = append(t.Partitions, &Partition{
		TopicID: r.TopicID, Index: r.Partition,
		Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR),
		Leader: r.Leader, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch,
		Adding: nonEmpty(r.Adding), Removing: nonEmpty(r.Removing),
	})
	return nil
}

// nonEmpty clones s, or gives nil for an empty s, so that images built
// by records and by snapshots compare equal.
func nonEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// applyChange merges a change as Kafka's PartitionRegistration.merge does:
// a set Leader starts a new leader epoch even when it names the current
// leader (the controller sets it only to change the leader, or to force a
// new epoch), and every change moves the partition epoch on.
func (im *Image) applyChange(r *PartitionChange) error {
	p := im.Partition(r.TopicID, r.Partition)
	if p == nil {
		return ErrStale
	}
	replicas, isr, leader, adding, removing := p.Replicas, p.ISR, p.Leader, p.Adding, p.Removing
	if r.Replicas != nil {
		replicas = r.Replicas
	}
	if r.ISR != nil {
		isr = r.ISR
	}
	if r.Leader != nil {
		leader = *r.Leader
	}
	if r.Reassignment != nil {
		adding, removing = r.Reassignment.Adding, r.Reassignment.Removing
	}
	if err := checkPartition(replicas, isr, leader); err != nil {
		return fmt.Errorf("meta: change of partition %d: %w", r.Partition, err)
	}
	if err := checkReassignment(replicas, adding, removing); err != nil {
		return fmt.Errorf("meta: change of partition %d: %w", r.Partition, err)
	}
	if r.Leader == nil && r.ISR == nil && r.Replicas == nil && r.Reassignment == nil {
		return fmt.Errorf("meta: change of partition %d changes nothing", r.Partition)
	}
	p.Replicas, p.ISR = slices.Clone(replicas), slices.Clone(isr)
	p.Adding, p.Removing = nonEmpty(adding), nonEmpty(removing)
	if r.Leader != nil {
		p.Leader = leader
		p.LeaderEpoch++
	}
	p.PartitionEpoch++
	return nil
}

// checkPartition is what every partition state must satisfy: distinct
// replicas, a non-empty ISR of distinct replicas, and a leader that is a
// replica or NoLeader.
func checkPartition(replicas, isr []int32, leader int32) error {
	switch {
	case len(replicas) == 0:
		return fmt.Errorf("no replicas")
	case len(isr) == 0:
		return fmt.Errorf("empty ISR")
	case leader != NoLeader && !slices.Contains(replicas, leader):
		return fmt.Errorf("leader %d is not a replica of %v", leader, replicas)
	}
	for i, r := range replicas {
		if r < 0 || slices.Contains(replicas[:i], r) {
			return fmt.Errorf("replicas %v: bad or repeated %d", replicas, r)
		}
	}
	for i, r := range isr {
		if !slices.Contains(replicas, r) || slices.Contains(isr[:i], r) {
			return fmt.Errorf("ISR %v: %d is repeated or not a replica of %v", isr, r, replicas)
		}
	}
	return nil
}

// checkReassignment is what a reassignment's state must satisfy: adding
// and removing are disjoint sets of replicas, and some replica is in
// neither (the target keeps at least one replica that is not new).
func checkReassignment(replicas, adding, removing []int32) error {
	for i, r := range adding {
		if !slices.Contains(replicas, r) || slices.Contains(adding[:i], r) || slices.Contains(removing, r) {
			return fmt.Errorf("adding %v: %d is repeated, removed too, or not a replica of %v", adding, r, replicas)
		}
	}
	for i, r := range removing {
		if !slices.Contains(replicas, r) || slices.Contains(removing[:i], r) {
			return fmt.Errorf("removing %v: %d is repeated or not a replica of %v", removing, r, replicas)
		}
	}
	if len(removing) > 0 && len(removing) == len(replicas) {
		return fmt.Errorf("removing every replica of %v", replicas)
	}
	return nil
}

func (im *Image) applyRemove(r *RemoveTopic) error {
	t := im.TopicIDs[r.ID]
	if t == nil {
		return ErrStale
	}
	delete(im.TopicIDs, t.ID)
	delete(im.Topics, t.Name)
	return nil
}

func (im *Image) applyConfig(r *ConfigRecord) error {
	m := im.configMap(r.ResourceType, r.Resource, r.Value != nil)
	switch {
	case m == nil && r.Value == nil:
		return nil // nothing to remove
	case m == nil:
		return ErrStale
	case r.Value == nil:
		delete(m, r.Name)
	default:
		m[r.Name] = *r.Value
	}
	return nil
}

// Config resource types, as Kafka numbers them.
const (
	ResourceTopic  int8 = 2
	ResourceBroker int8 = 4
)

// configMap finds the configs of a resource; create makes a broker's map
// on its first config. nil: no such resource (a removed topic, or a
// broker resource name that is not an id).
func (im *Image) configMap(rtype int8, resource string, create bool) map[string]string {
	switch rtype {
	case ResourceTopic:
		if t := im.Topics[resource]; t != nil {
			return t.Configs
		}
	case ResourceBroker:
		if resource == "" {
			return im.ClusterConfigs
		}
		id, err := strconv.ParseInt(resource, 10, 32)
		if err != nil || id < 0 {
			return nil
		}
		if im.BrokerConfigs[int32(id)] == nil && create {
			im.BrokerConfigs[int32(id)] = map[string]string{}
		}
		return im.BrokerConfigs[int32(id)]
	}
	return nil
}

func (im *Image) applyProducerIDs(r *ProducerIDs) error {
	if r.First != im.NextProducerID || r.Size <= 0 || r.First > math.MaxInt64-r.Size {
		return fmt.Errorf("meta: producer id block [%d,+%d) does not start at %d", r.First, r.Size, im.NextProducerID)
	}
	im.NextProducerID = r.First + r.Size
	return nil
}

// Partition finds a partition by topic id and index.
func (im *Image) Partition(topicID [16]byte, index int32) *Partition {
	t := im.TopicIDs[topicID]
	if t == nil || index < 0 || int(index) >= len(t.Partitions) {
		return nil
	}
	return t.Partitions[index]
}

// SortedTopics lists topics by name.
func (im *Image) SortedTopics() []*Topic {
	return sortedValues(im.Topics)
}

// SortedBrokers lists brokers by id.
func (im *Image) SortedBrokers() []*Broker {
	return sortedValues(im.Brokers)
}

// Active reports whether broker id is registered and unfenced.
func (im *Image) Active(id int32) bool {
	b := im.Brokers[id]
	return b != nil && !b.Fenced
}

// MayLead reports whether broker id may lead a partition or join an ISR:
// registered, unfenced and not in controlled shutdown (Kafka's
// ClusterControlManager.isActive).
func (im *Image) MayLead(id int32) bool {
	b := im.Brokers[id]
	return b != nil && !b.Fenced && !b.InControlledShutdown
}

// Leads reports whether broker id leads any partition.
func (im *Image) Leads(id int32) bool {
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			if p.Leader == id {
				return true
			}
		}
	}
	return false
}

// Clone returns a deep copy of the image, on which a controller computes
// a batch of decisions without touching the applied image.
func (im *Image) Clone() *Image {
	c := NewImage()
	c.Offset, c.NextProducerID, c.NextBrokerEpoch = im.Offset, im.NextProducerID, im.NextBrokerEpoch
	for id, b := range im.Brokers { //gregor:unordered-ok each entry is copied independently
		nb := *b
		c.Brokers[id] = &nb
	}
	for _, t := range im.Topics { //gregor:unordered-ok each entry is copied independently
		nt := &Topic{Name: t.Name, ID: t.ID, Configs: map[string]string{}, Partitions: make([]*Partition, len(t.Partitions))}
		maps.Copy(nt.Configs, t.Configs)
		for i, p := range t.Partitions {
			np := *p
			np.Replicas, np.ISR = slices.Clone(p.Replicas), slices.Clone(p.ISR)
			np.Adding, np.Removing = slices.Clone(p.Adding), slices.Clone(p.Removing)
			nt.Partitions[i] = &np
		}
		c.Topics[t.Name], c.TopicIDs[t.ID] = nt, nt
	}
	maps.Copy(c.ClusterConfigs, im.ClusterConfigs)
	for id, m := range im.BrokerConfigs { //gregor:unordered-ok each entry is copied independently
		c.BrokerConfigs[id] = map[string]string{}
		maps.Copy(c.BrokerConfigs[id], m)
	}
	return c
}

func sortedValues[K int32 | string, V any](m map[K]*V) []*V {
	out := make([]*V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// snapshotImage is the image as a snapshot stores it.
type snapshotImage struct {
	Offset          int64                       `json:"offset"`
	Brokers         []*Broker                   `json:"brokers"`
	Topics          []*Topic                    `json:"topics"`
	ClusterConfigs  map[string]string           `json:"cluster_configs"`
	BrokerConfigs   map[int32]map[string]string `json:"broker_configs"`
	NextProducerID  int64                       `json:"next_producer_id"`
	NextBrokerEpoch int64                       `json:"next_broker_epoch"`
}

// Snapshot encodes the image (KIP-630 snapshots of the metadata log).
func (im *Image) Snapshot() ([]byte, error) {
	return json.Marshal(snapshotImage{
		Offset: im.Offset, Brokers: im.SortedBrokers(), Topics: im.SortedTopics(),
		ClusterConfigs: im.ClusterConfigs, BrokerConfigs: im.BrokerConfigs,
		NextProducerID: im.NextProducerID, NextBrokerEpoch: im.NextBrokerEpoch,
	})
}

// Restore decodes a snapshot into a new image, checking what Apply would
// have checked.
func Restore(b []byte) (*Image, error) {
	var s snapshotImage
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("meta: decoding snapshot: %w", err)
	}
	im := NewImage()
	im.Offset, im.NextProducerID, im.NextBrokerEpoch = s.Offset, s.NextProducerID, s.NextBrokerEpoch
	for _, b := range s.Brokers {
		if b == nil || im.Brokers[b.ID] != nil {
			return nil, fmt.Errorf("meta: snapshot: missing or repeated broker")
		}
		im.Brokers[b.ID] = b
	}
	for _, t := range s.Topics {
		if err := im.restoreTopic(t); err != nil {
			return nil, fmt.Errorf("meta: snapshot: %w", err)
		}
	}
	if s.ClusterConfigs != nil {
		im.ClusterConfigs = s.ClusterConfigs
	}
	for id, m := range s.BrokerConfigs { //gregor:unordered-ok each entry is set independently
		if m == nil {
			m = map[string]string{}
		}
		im.BrokerConfigs[id] = m
	}
	return im, nil
}

func (im *Image) restoreTopic(t *Topic) error {
	if t == nil || im.Topics[t.Name] != nil || im.TopicIDs[t.ID] != nil {
		return fmt.Errorf("missing or repeated topic")
	}
	for i, p := range t.Partitions {
		if p == nil || p.TopicID != t.ID || int(p.Index) != i {
			return fmt.Errorf("topic %s: partition %d out of place", t.Name, i)
		}
		if err := checkPartition(p.Replicas, p.ISR, p.Leader); err != nil {
			return fmt.Errorf("topic %s partition %d: %w", t.Name, i, err)
		}
		if err := checkReassignment(p.Replicas, p.Adding, p.Removing); err != nil {
			return fmt.Errorf("topic %s partition %d: %w", t.Name, i, err)
		}
	}
	if t.Configs == nil {
		t.Configs = map[string]string{}
	}
	im.Topics[t.Name] = t
	im.TopicIDs[t.ID] = t
	return nil
}
