package kclient

import "github.com/twmb/franz-go/pkg/kmsg"

// versionRange is an inclusive range of versions of one API key.
type versionRange struct{ min, max int16 }

// ourVersions are the versions this client speaks of the APIs it builds
// requests for. The maxima stop where the request would name topics by id
// (Produce v13, Fetch v13: KIP-516), because this client addresses topics
// by name; the minima start where record batches are v2 (Produce v3,
// Fetch v4), the only format the client reads and writes. Keys not listed
// (requests a caller builds itself through Request) are spoken from 0 to
// kmsg's maximum.
var ourVersions = map[int16]versionRange{
	int16(kmsg.Produce):        {min: 3, max: 12},
	int16(kmsg.Fetch):          {min: 4, max: 12},
	int16(kmsg.ListOffsets):    {min: 1, max: 8},
	int16(kmsg.Metadata):       {min: 1, max: 12},
	int16(kmsg.ApiVersions):    {min: 0, max: 4},
	int16(kmsg.CreateTopics):   {min: 2, max: 7},
	int16(kmsg.InitProducerID): {min: 0, max: 4},
}

// ours is the range we speak of req's key.
func ours(req kmsg.Request) versionRange {
	if r, ok := ourVersions[req.Key()]; ok {
		return r
	}
	return versionRange{min: 0, max: req.MaxVersion()}
}

// pick is the version to send: the highest both sides speak.
func pick(our, broker versionRange) (int16, bool) {
	v := min(our.max, broker.max)
	return v, v >= max(our.min, broker.min)
}
