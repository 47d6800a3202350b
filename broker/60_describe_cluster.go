package broker

// DescribeCluster: v0–2
//
// Behavior:
//   - The registered brokers of the metadata image (fenced ones only when
//     v2+ asks with IncludeFencedBrokers, marked IsFenced), the active
//     controller and the cluster id.
//     Asking a broker for the controllers endpoint type is
//     MISMATCHED_ENDPOINT_TYPE, as in Kafka (KIP-919).
//
// Version notes:
//   - v1+: EndpointType. v2+: IsFenced per broker.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(60, 0, 2, (*Broker).serveDescribeCluster) }

const endpointTypeBrokers = 1

func (b *Broker) serveDescribeCluster(r *request) {
	req := r.req.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = endpointTypeBrokers
	if req.Version >= 1 && req.EndpointType != endpointTypeBrokers {
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		msg := "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
		resp.ErrorMessage = &msg
		r.respond(resp)
		return
	}
	resp.ClusterID = b.cfg.ClusterID
	resp.ControllerID = b.controllerID()
	resp.ClusterAuthorizedOperations = authorizedOperationsUnknown
	for _, mb := range b.ctl.Image().SortedBrokers() {
		if mb.Fenced && !req.IncludeFencedBrokers {
			continue
		}
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port, br.IsFenced = mb.ID, mb.Host, mb.Port, mb.Fenced
		if mb.Rack != "" {
			br.Rack = kmsg.StringPtr(mb.Rack)
		}
		resp.Brokers = append(resp.Brokers, br)
	}
	r.respond(resp)
}
