package broker

// DescribeCluster: v0–2
//
// Behavior:
//   - This broker, which is also the controller, with the cluster id.
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
	resp.ControllerID = b.cfg.NodeID
	resp.ClusterAuthorizedOperations = authorizedOperationsUnknown
	host, port := b.advertised()
	br := kmsg.NewDescribeClusterResponseBroker()
	br.NodeID, br.Host, br.Port = b.cfg.NodeID, host, port
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{br}
	r.respond(resp)
}
