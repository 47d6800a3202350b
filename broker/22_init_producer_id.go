package broker

// InitProducerID: v0–5
//
// Behavior:
//   - Without a transactional id (an idempotent producer), always hands
//     out a fresh producer id at epoch 0, as Kafka does, whatever id and
//     epoch the request carries (KIP-360 bumps are for transactions).
//     Ids are reserved in blocks in the metadata file, so a restarted
//     broker never reuses one; the answer waits when a block is reserved.
//   - With a transactional id: INVALID_REQUEST, since this broker has no
//     transaction coordinator yet (and does not serve FindCoordinator).
//
// Version notes:
//   - v2+: flexible. v3+: ProducerID/ProducerEpoch in the request.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(22, 0, 5, (*Broker).serveInitProducerID) }

func (b *Broker) serveInitProducerID(r *request) {
	req := r.req.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		b.log.Warn("transactional InitProducerID refused: transactions are not supported yet", "transactional_id", *req.TransactionalID)
		resp.ErrorCode = kerr.InvalidRequest.Code
		r.respond(resp)
		return
	}
	b.allocProducerID(func(id int64, err error) {
		if err != nil {
			resp.ErrorCode = kerr.KafkaStorageError.Code
		} else {
			resp.ProducerID, resp.ProducerEpoch = id, 0
		}
		r.respond(resp)
	})
}

// allocProducerID hands out the next id once it is covered by a durable
// reservation; otherwise it reserves the next block first.
func (b *Broker) allocProducerID(done func(int64, error)) {
	if b.nextProducerID < b.producerIDDurableEnd {
		id := b.nextProducerID
		b.nextProducerID++
		done(id, nil)
		return
	}
	if b.producerIDBlockEnd <= b.nextProducerID {
		b.producerIDBlockEnd = b.nextProducerID + producerIDBlock
	}
	end := b.producerIDBlockEnd
	b.saveMeta(func(err error) {
		if err != nil {
			done(-1, err)
			return
		}
		b.producerIDDurableEnd = max(b.producerIDDurableEnd, end)
		b.allocProducerID(done)
	})
}
