package broker

// ApiVersions: v0–4
//
// Behavior:
//   - Lists every API key this broker serves with its version range, taken
//     from the registry (each API file registers itself), in key order.
//   - A request at a version above what we serve is answered at v0 with
//     UNSUPPORTED_VERSION and the full list, as Kafka does (KIP-511), so the
//     client retries at a version both sides speak. Its response header is
//     always v0.
//
// Version notes:
//   - v1+: ThrottleMillis. v3+: flexible; ClientSoftwareName/Version
//     (KIP-511), not yet validated.
//   - Minimums stay low on purpose: librdkafka enables features only when
//     our ranges overlap the old versions it knows.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const apiVersionsKey = 18

func init() { regKey(apiVersionsKey, 0, 4, (*Broker).serveApiVersions) }

func (b *Broker) serveApiVersions(r *request) {
	r.respond(handleApiVersions(r.req.(*kmsg.ApiVersionsRequest)))
}

// handleApiVersions answers a decoded ApiVersions request.
func handleApiVersions(req *kmsg.ApiVersionsRequest) *kmsg.ApiVersionsResponse {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = apiKeys()
	return resp
}

// UnsupportedApiVersions is the answer to an ApiVersions request at a
// version we do not serve: v0, UNSUPPORTED_VERSION, and what we do serve.
func UnsupportedApiVersions(h RequestHeader) []byte {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = apiKeys()
	return AppendResponse(nil, RequestHeader{Key: apiVersionsKey, Version: 0, CorrelationID: h.CorrelationID}, resp)
}
