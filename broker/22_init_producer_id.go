package broker

// InitProducerID: v0–5
//
// Behavior:
//   - Without a transactional id (an idempotent producer), always hands
//     out a fresh producer id at epoch 0, as Kafka does, whatever id and
//     epoch the request carries (KIP-360 bumps are for transactions).
//     Ids come in blocks from the controller (AllocateProducerIds, written
//     to the metadata log), so no two brokers and no two incarnations ever
//     hand out the same id; the answer waits while a block is fetched,
//     and COORDINATOR_NOT_AVAILABLE (retriable) if none can be had.
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
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		} else {
			resp.ProducerID, resp.ProducerEpoch = id, 0
		}
		r.respond(resp)
	})
}

// producerIDWaitersMax bounds InitProducerID requests waiting for a block.
const producerIDWaitersMax = 1024

// allocProducerID hands out the next id of the current block, asking the
// controller for a new block when it is used up.
func (b *Broker) allocProducerID(done func(int64, error)) {
	if b.nextProducerID < b.producerIDBlockEnd {
		id := b.nextProducerID
		b.nextProducerID++
		done(id, nil)
		return
	}
	if len(b.producerIDWaiters) >= producerIDWaitersMax {
		done(-1, errBusy)
		return
	}
	b.producerIDWaiters = append(b.producerIDWaiters, done)
	if b.producerIDsAsked {
		return
	}
	b.producerIDsAsked = true
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = b.cfg.NodeID, b.brokerEpoch
	b.toController(req, func(resp kmsg.Response, err error) {
		b.producerIDsAsked = false
		waiters := b.producerIDWaiters
		b.producerIDWaiters = nil
		r, _ := resp.(*kmsg.AllocateProducerIDsResponse)
		switch {
		case err != nil:
		case r.ErrorCode != 0:
			err = kerr.ErrorForCode(r.ErrorCode)
		default:
			b.nextProducerID, b.producerIDBlockEnd = r.ProducerIDStart, r.ProducerIDStart+int64(r.ProducerIDLen)
		}
		for _, w := range waiters {
			if err != nil {
				w(-1, err)
			} else {
				b.allocProducerID(w)
			}
		}
	})
}
