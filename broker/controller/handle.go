package controller

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handler turns a request into its operation; respond is called once.
type handler func(c *Controller, req kmsg.Request, respond func(kmsg.Response)) *op

// handlers are the keys the controller serves, at every version kmsg
// knows.
var handlers = map[int16]handler{
	19: (*Controller).createTopics,
	20: (*Controller).deleteTopics,
	33: (*Controller).alterConfigs,
	37: (*Controller).createPartitions,
	43: (*Controller).electLeaders,
	44: (*Controller).incrementalAlterConfigs,
	45: (*Controller).alterReassignments,
	46: (*Controller).listReassignments,
	56: (*Controller).alterPartition,
	62: (*Controller).brokerRegistration,
	63: (*Controller).brokerHeartbeat,
	67: (*Controller).allocateProducerIDs,
}

// Handle serves one decoded request of the controller's keys:
// BrokerRegistration, BrokerHeartbeat, AlterPartition,
// AllocateProducerIds, CreateTopics, DeleteTopics, CreatePartitions,
// AlterConfigs, IncrementalAlterConfigs, ElectLeaders,
// AlterPartitionReassignments and ListPartitionReassignments, at every
// version kmsg knows. It reports false, and does nothing, for any other
// request. Otherwise respond is called exactly once, now or later, on the
// loop (unless the node stops first): NOT_CONTROLLER at once when this
// node is not the active controller; else after the operation's records
// are committed and applied here. The response's version is the
// request's. The quorum's listener calls Handle for remote brokers (see
// quorum.Config.Serve); a broker embedding the controller calls it
// directly.
func (c *Controller) Handle(req kmsg.Request, respond func(kmsg.Response)) bool {
	h := handlers[req.Key()]
	if h == nil || req.GetVersion() < 0 || req.GetVersion() > req.MaxVersion() {
		return false
	}
	respond = c.inOrder(respond)
	if !c.Active() {
		respond(errorResponse(req, errNotController))
		return true
	}
	c.enqueue(h(c, req, respond))
	return true
}

// answer is a request's place in the order of answers.
type answer struct {
	respond func(kmsg.Response)
	resp    kmsg.Response // nil until ready
}

// inOrder holds each answer until every request Handle took before it is
// answered, so answers leave in the order requests came, whatever each
// waits for (a batch's commit, or nothing: NOT_CONTROLLER, a full
// queue). A client that, like Kafka's, expects one connection's answers
// in order (broker/peer does) can then send the controller several
// requests at once. (The quorum's own answers on the controller listener
// are not ordered with these: a broker should not park a metadata fetch
// on the connection it heartbeats on.) The answers held are bounded by
// the requests callers may have outstanding: the controller listener's
// AcceptedConnsMax × RequestsPerConnMax, and the embedding broker's own
// bounds.
func (c *Controller) inOrder(respond func(kmsg.Response)) func(kmsg.Response) {
	a := &answer{respond: respond}
	c.answers = append(c.answers, a)
	return func(resp kmsg.Response) {
		a.resp = resp
		for len(c.answers) > 0 && c.answers[0].resp != nil {
			next := c.answers[0]
			c.answers[0] = nil
			c.answers = c.answers[1:]
			next.respond(next.resp)
		}
	}
}

// rejectWith is an op's reject for req: every entry answers r.
func rejectWith(req kmsg.Request, respond func(kmsg.Response)) func(rejection) {
	return func(r rejection) { respond(errorResponse(req, r)) }
}

// errorResponse answers req with r's error in every entry (and at the top
// level where the response has one), as Kafka answers a request it could
// not process.
func errorResponse(req kmsg.Request, r rejection) kmsg.Response {
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	code := r.err.Code
	var msg *string
	if r.msg != "" {
		m := r.msg
		msg = &m
	}
	switch q := req.(type) {
	case *kmsg.CreateTopicsRequest:
		rs := resp.(*kmsg.CreateTopicsResponse)
		for _, t := range q.Topics {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic, st.ErrorCode, st.ErrorMessage, st.NumPartitions, st.ReplicationFactor = t.Topic, code, msg, -1, -1
			rs.Topics = append(rs.Topics, st)
		}
	case *kmsg.DeleteTopicsRequest:
		rs := resp.(*kmsg.DeleteTopicsResponse)
		for _, t := range deleteTargets(q) {
			st := kmsg.NewDeleteTopicsResponseTopic()
			st.Topic, st.TopicID, st.ErrorCode, st.ErrorMessage = t.Topic, t.TopicID, code, msg
			rs.Topics = append(rs.Topics, st)
		}
	case *kmsg.CreatePartitionsRequest:
		rs := resp.(*kmsg.CreatePartitionsResponse)
		for _, t := range q.Topics {
			st := kmsg.NewCreatePartitionsResponseTopic()
			st.Topic, st.ErrorCode, st.ErrorMessage = t.Topic, code, msg
			rs.Topics = append(rs.Topics, st)
		}
	case *kmsg.AlterConfigsRequest:
		rs := resp.(*kmsg.AlterConfigsResponse)
		for _, r := range q.Resources {
			sr := kmsg.NewAlterConfigsResponseResource()
			sr.ResourceType, sr.ResourceName, sr.ErrorCode, sr.ErrorMessage = r.ResourceType, r.ResourceName, code, msg
			rs.Resources = append(rs.Resources, sr)
		}
	case *kmsg.IncrementalAlterConfigsRequest:
		rs := resp.(*kmsg.IncrementalAlterConfigsResponse)
		for _, r := range q.Resources {
			sr := kmsg.NewIncrementalAlterConfigsResponseResource()
			sr.ResourceType, sr.ResourceName, sr.ErrorCode, sr.ErrorMessage = r.ResourceType, r.ResourceName, code, msg
			rs.Resources = append(rs.Resources, sr)
		}
	case *kmsg.ElectLeadersRequest:
		rs := resp.(*kmsg.ElectLeadersResponse)
		rs.ErrorCode = code
		for _, t := range q.Topics {
			st := kmsg.NewElectLeadersResponseTopic()
			st.Topic = t.Topic
			for _, p := range t.Partitions {
				sp := kmsg.NewElectLeadersResponseTopicPartition()
				sp.Partition, sp.ErrorCode, sp.ErrorMessage = p, code, msg
				st.Partitions = append(st.Partitions, sp)
			}
			rs.Topics = append(rs.Topics, st)
		}
	case *kmsg.AlterPartitionAssignmentsRequest:
		rs := resp.(*kmsg.AlterPartitionAssignmentsResponse)
		rs.ErrorCode, rs.ErrorMessage = code, msg
	case *kmsg.ListPartitionReassignmentsRequest:
		rs := resp.(*kmsg.ListPartitionReassignmentsResponse)
		rs.ErrorCode, rs.ErrorMessage = code, msg
	case *kmsg.AlterPartitionRequest:
		resp.(*kmsg.AlterPartitionResponse).ErrorCode = code
	case *kmsg.BrokerRegistrationRequest:
		resp.(*kmsg.BrokerRegistrationResponse).ErrorCode = code
	case *kmsg.BrokerHeartbeatRequest:
		rs := resp.(*kmsg.BrokerHeartbeatResponse)
		rs.ErrorCode, rs.IsFenced = code, true
	case *kmsg.AllocateProducerIDsRequest:
		resp.(*kmsg.AllocateProducerIDsResponse).ErrorCode = code
	}
	return resp
}
