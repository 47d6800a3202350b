package broker

// DeleteTopics: v1–6
//
// Behavior:
//   - Deletes each named topic (v6: by name or id): its logs are closed
//     and removed, the removal made durable, then the metadata; the answer
//     follows the metadata write. A missing topic is
//     UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id). Waiting fetches
//     on it answer with the error on their next read.
//
// Version notes:
//   - v4+: flexible. v5+: error messages. v6+: topics by id (KIP-516).

import (
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(20, 1, 6, (*Broker).serveDeleteTopics) }

func (b *Broker) serveDeleteTopics(r *request) {
	req := r.req.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	wanted := req.Topics
	if req.Version < 6 {
		wanted = nil
		for _, name := range req.TopicNames {
			n := name
			wanted = append(wanted, kmsg.DeleteTopicsRequestTopic{Topic: &n})
		}
	}
	var doomed []*topic
	for _, rt := range wanted {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		t, e := b.lookupTopic(rt.Topic, rt.TopicID)
		if e != nil {
			st.ErrorCode = e.Code
			resp.Topics = append(resp.Topics, st)
			continue
		}
		name := t.name
		st.Topic, st.TopicID = &name, t.id
		doomed = append(doomed, t)
		// A topic named twice is unknown the second time.
		delete(b.topics, t.name)
		delete(b.topicIDs, t.id)
		resp.Topics = append(resp.Topics, st)
	}
	if len(doomed) == 0 {
		r.respond(resp)
		return
	}
	left := len(doomed)
	for _, t := range doomed {
		b.deleteTopic(t, func() {
			if left--; left > 0 {
				return
			}
			b.saveMeta(func(err error) {
				if err != nil {
					b.log.Error("saving metadata after delete", "err", err)
				}
				r.respond(resp)
			})
		})
	}
}

// lookupTopic finds a topic by name, or by id when no name is given.
func (b *Broker) lookupTopic(name *string, id [16]byte) (*topic, *kerr.Error) {
	if name != nil && *name != "" {
		if t := b.topics[*name]; t != nil {
			return t, nil
		}
		return nil, kerr.UnknownTopicOrPartition
	}
	if t := b.topicIDs[id]; t != nil {
		return t, nil
	}
	return nil, kerr.UnknownTopicID
}

// deleteTopic forgets a topic and removes its files; done follows once
// every removal is durable (or failed, logged: the metadata write that
// follows is what the deletion rests on, and recovery removes orphans).
func (b *Broker) deleteTopic(t *topic, done func()) {
	delete(b.topics, t.name)
	delete(b.topicIDs, t.id)
	b.log.Info("topic deleted", "topic", t.name)
	left := len(t.partitions) + 1
	step := func(err error) {
		if err != nil {
			b.log.Error("removing deleted log", "topic", t.name, "err", err)
		}
		if left--; left == 0 {
			done()
		}
	}
	for _, p := range t.partitions {
		if err := p.log.Close(); err != nil {
			b.log.Warn("closing deleted log", "topic", t.name, "partition", p.index, "err", err)
		}
		if err := storage.Delete(b.e.FS(), b.path(p.dir()), step); err != nil {
			step(err)
		}
	}
	step(nil)
}
