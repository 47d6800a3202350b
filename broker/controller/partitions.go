package controller

import (
	"slices"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The partition-level requests: AlterPartition from leaders,
// ElectLeaders and the reassignment requests from admins, and
// AllocateProducerIds from brokers.

// alterPartition changes ISRs (meta.AlterPartition). A requester not
// registered at its broker epoch fails the whole request with
// STALE_BROKER_EPOCH, as in Kafka. Topics go by name before v2 and by id
// from v2; members carry their broker epochs from v3 (KIP-903). A
// partition's answer is its new state, or only the error.
func (c *Controller) alterPartition(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.AlterPartitionRequest)
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
		if b := w.im.Brokers[r.BrokerID]; b == nil || b.Epoch != r.BrokerEpoch {
			resp.ErrorCode = kerr.StaleBrokerEpoch.Code
			return func(int64) { respond(resp) }
		}
		for _, rt := range r.Topics {
			resp.Topics = append(resp.Topics, c.alterTopicISRs(w, r, rt))
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

func (c *Controller) alterTopicISRs(w *work, r *kmsg.AlterPartitionRequest, rt kmsg.AlterPartitionRequestTopic) kmsg.AlterPartitionResponseTopic {
	st := kmsg.NewAlterPartitionResponseTopic()
	st.Topic, st.TopidID = rt.Topic, rt.TopicID
	id, missing := rt.TopicID, kerr.UnknownTopicID
	if r.Version < 2 {
		id, missing = [16]byte{}, kerr.UnknownTopicOrPartition
		if t := w.im.Topics[rt.Topic]; t != nil {
			id = t.ID
		}
	}
	for _, rp := range rt.Partitions {
		sp := kmsg.NewAlterPartitionResponseTopicPartition()
		sp.Partition = rp.Partition
		if w.im.TopicIDs[id] == nil {
			sp.ErrorCode = missing.Code
			st.Partitions = append(st.Partitions, sp)
			continue
		}
		ar := meta.AlterPartitionRequest{
			BrokerID: r.BrokerID, BrokerEpoch: r.BrokerEpoch, TopicID: id, Partition: rp.Partition,
			LeaderEpoch: rp.LeaderEpoch, PartitionEpoch: rp.PartitionEpoch, ISR: isrMembers(r.Version, rp),
		}
		recs, e := meta.AlterPartition(w.im, ar)
		w.emit(recs...)
		if e != nil {
			sp.ErrorCode = e.Code
		} else {
			p := w.im.Partition(id, rp.Partition)
			sp.LeaderID, sp.LeaderEpoch, sp.ISR, sp.PartitionEpoch = p.Leader, p.LeaderEpoch, slices.Clone(p.ISR), p.PartitionEpoch
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return st
}

// isrMembers is a partition's proposed ISR with each member's broker
// epoch, -1 where the version carries none.
func isrMembers(version int16, rp kmsg.AlterPartitionRequestTopicPartition) []meta.ISRMember {
	var out []meta.ISRMember
	if version >= 3 {
		for _, m := range rp.NewEpochISR {
			out = append(out, meta.ISRMember{ID: m.BrokerID, Epoch: m.BrokerEpoch})
		}
		return out
	}
	for _, id := range rp.NewISR {
		out = append(out, meta.ISRMember{ID: id, Epoch: -1})
	}
	return out
}

// ---- ElectLeaders ----

// electLeaders runs preferred (type 0, the only one before v1) or
// unclean elections (meta.ElectLeader). With no topics it elects for
// every partition and, as Kafka, leaves out those that needed none (but
// not their topics: every topic has an entry, perhaps with no
// partitions).
func (c *Controller) electLeaders(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.ElectLeadersRequest)
	typ := meta.ElectPreferred
	if r.Version >= 1 {
		typ = meta.ElectionType(r.ElectionType)
	}
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
		if typ != meta.ElectPreferred && typ != meta.ElectUnclean {
			resp := errorResponse(r, rejection{kerr.InvalidRequest, "Unknown election type."})
			return func(int64) { respond(resp) }
		}
		all := r.Topics == nil
		for _, rt := range electTargets(w.im, r) {
			st := kmsg.NewElectLeadersResponseTopic()
			st.Topic = rt.Topic
			for _, p := range rt.Partitions {
				recs, e, msg := meta.ElectLeader(w.im, rt.Topic, p, typ)
				if all && e == kerr.ElectionNotNeeded {
					continue
				}
				w.emit(recs...)
				sp := kmsg.NewElectLeadersResponseTopicPartition()
				sp.Partition = p
				if e != nil {
					sp.ErrorCode, sp.ErrorMessage = e.Code, &msg
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

// electTargets are the request's partitions, or every partition.
func electTargets(im *meta.Image, r *kmsg.ElectLeadersRequest) []kmsg.ElectLeadersRequestTopic {
	if r.Topics != nil {
		return r.Topics
	}
	var out []kmsg.ElectLeadersRequestTopic
	for _, t := range im.SortedTopics() {
		rt := kmsg.NewElectLeadersRequestTopic()
		rt.Topic = t.Name
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, p.Index)
		}
		out = append(out, rt)
	}
	return out
}

// ---- reassignments ----

// alterReassignments starts, changes or (replicas null) cancels
// partition reassignments (meta.Reassign). v0 has no
// AllowReplicationFactorChange and allows any change, as Kafka before
// KIP-860.
func (c *Controller) alterReassignments(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.AlterPartitionAssignmentsRequest)
	allowRF := r.Version < 1 || r.AllowReplicationFactorChange
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
		resp.AllowReplicationFactorChange = r.AllowReplicationFactorChange
		for _, rt := range r.Topics {
			st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				sp.Partition = rp.Partition
				recs, e, msg := meta.Reassign(w.im, rt.Topic, rp.Partition, rp.Replicas, allowRF, c.unclean(w.im))
				w.emit(recs...)
				if e != nil {
					sp.ErrorCode, sp.ErrorMessage = e.Code, &msg
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

// listReassignments lists the ongoing reassignments among the partitions
// named (all of them when no topics are given); unknown topics and
// partitions, and those not being reassigned, are left out, as in Kafka.
func (c *Controller) listReassignments(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.ListPartitionReassignmentsRequest)
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
		for _, t := range w.im.SortedTopics() {
			st := kmsg.NewListPartitionReassignmentsResponseTopic()
			st.Topic = t.Name
			for _, p := range t.Partitions {
				if !p.Reassigning() || !listed(r, t.Name, p.Index) {
					continue
				}
				sp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
				sp.Partition = p.Index
				sp.Replicas, sp.AddingReplicas, sp.RemovingReplicas = slices.Clone(p.Replicas), slices.Clone(p.Adding), slices.Clone(p.Removing)
				st.Partitions = append(st.Partitions, sp)
			}
			if len(st.Partitions) > 0 {
				resp.Topics = append(resp.Topics, st)
			}
		}
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

func listed(r *kmsg.ListPartitionReassignmentsRequest, topic string, partition int32) bool {
	if r.Topics == nil {
		return true
	}
	for _, rt := range r.Topics {
		if rt.Topic == topic && slices.Contains(rt.Partitions, partition) {
			return true
		}
	}
	return false
}

// ---- AllocateProducerIds ----

// allocateProducerIDs reserves the next block of ProducerIDBlockSize ids
// for a broker incarnation (meta.AllocateProducerIDs); blocks never
// overlap, since each is decided on an image holding every earlier one.
func (c *Controller) allocateProducerIDs(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.AllocateProducerIDsRequest)
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
		recs, e := meta.AllocateProducerIDs(w.im, r.BrokerID, r.BrokerEpoch, c.cfg.ProducerIDBlockSize)
		if e != nil {
			resp.ErrorCode = e.Code
			return func(int64) { respond(resp) }
		}
		w.emit(recs...)
		resp.ProducerIDStart, resp.ProducerIDLen = recs[0].ProducerIDs.First, int32(recs[0].ProducerIDs.Size)
		return func(int64) { respond(resp) }
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}
