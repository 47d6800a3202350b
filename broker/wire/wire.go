package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors from decoding frames.
var (
	ErrShortHeader = errors.New("header truncated")
	ErrBadBody     = errors.New("malformed body")
)

const apiVersionsKey = 18

// AppendRequest appends a request frame (header v1/v2 and body); the
// in-sim clients use it.
func AppendRequest(dst []byte, req kmsg.Request, correlationID int32, clientID *string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if clientID == nil {
		dst = binary.BigEndian.AppendUint16(dst, 0xffff)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(*clientID)))
		dst = append(dst, *clientID...)
	}
	if req.IsFlexible() {
		dst = append(dst, 0)
	}
	return req.AppendTo(dst)
}

// DecodeResponse parses a response frame to req: the correlation id, the
// header's tag section (flexible versions, except ApiVersions whose
// response header is always v0), then the body at req's version. Peers
// and in-sim clients use it.
func DecodeResponse(req kmsg.Request, frame []byte) (int32, kmsg.Response, error) {
	r := kbin.Reader{Src: frame}
	corr := r.Int32()
	if !r.Ok() {
		return 0, nil, fmt.Errorf("%w: response of %d bytes", ErrShortHeader, len(frame))
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != apiVersionsKey && !SkipTags(&r) {
		return corr, nil, fmt.Errorf("%w: response header tags", ErrShortHeader)
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		return corr, nil, fmt.Errorf("%w: %s v%d response: %v", ErrBadBody, kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return corr, resp, nil
}

// ReadFrameLength reads the 4-byte length prefix of a frame on a stream
// and checks it against the limit, so a hostile or corrupt length never
// makes the reader allocate.
func ReadFrameLength(prefix [4]byte, frameBytesMax int32) (int32, error) {
	n := int32(binary.BigEndian.Uint32(prefix[:]))
	if n < 0 || n > frameBytesMax {
		return 0, fmt.Errorf("frame length %d outside 0..%d", n, frameBytesMax)
	}
	return n, nil
}

// AppendFrameLength prefixes a frame with its length for a stream.
func AppendFrameLength(dst []byte, frame []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(frame)))
	return append(dst, frame...)
}

// SkipTags skips a tagged-field section. kmsg.SkipTags keeps looping for the
// claimed count after the input runs out, so a 15-byte frame claiming 2³²
// tags ties up a connection for half a minute; here the count is bounded
// by the bytes left (a tag takes at least two) and the loop stops at the
// first short read.
func SkipTags(r *kbin.Reader) bool {
	n := r.Uvarint()
	if !r.Ok() || int(n) > len(r.Src)/2 {
		return false
	}
	for range n {
		r.Uvarint() // tag
		r.Span(int(r.Uvarint()))
		if !r.Ok() {
			return false
		}
	}
	return true
}
