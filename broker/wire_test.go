package broker

import (
	"encoding/binary"
	"github.com/gregor-dst/gregor/broker/wire"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// readResponse strips a response header (v0, or v1 when flexible) and
// parses the body as a client would.
func readResponse(t *testing.T, frame []byte, resp kmsg.Response, version int16) int32 {
	t.Helper()
	resp.SetVersion(version)
	require.GreaterOrEqual(t, len(frame), 4)
	corr := int32(binary.BigEndian.Uint32(frame))
	body := frame[4:]
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		require.Equal(t, byte(0), body[0], "empty header tags")
		body = body[1:]
	}
	require.NoError(t, resp.ReadFrom(body))
	return corr
}

func TestApiVersionsEveryVersion(t *testing.T) {
	client := "test-client"
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(v)
		req.ClientSoftwareName, req.ClientSoftwareVersion = "gregor-test", "1.0"
		frame := wire.AppendRequest(nil, req, 41+int32(v), &client)

		h, decoded, err := DecodeRequest(frame)
		require.NoError(t, err, "v%d", v)
		require.Equal(t, RequestHeader{Key: 18, Version: v, CorrelationID: 41 + int32(v), ClientID: &client}, h)
		got := handleApiVersions(decoded.(*kmsg.ApiVersionsRequest))

		var resp kmsg.ApiVersionsResponse
		corr := readResponse(t, AppendResponse(nil, h, got), &resp, v)
		require.Equal(t, 41+int32(v), corr)
		require.Equal(t, int16(0), resp.ErrorCode)
		require.Contains(t, resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: 18, MinVersion: 0, MaxVersion: 4})
		require.Len(t, resp.ApiKeys, len(registry), "every registered key, no others")
	}
}

// An ApiVersions request above our range gets a v0 answer with
// UNSUPPORTED_VERSION and the list, whatever its body looks like.
func TestApiVersionsUnsupportedVersion(t *testing.T) {
	frame := []byte{0, 18, 0, 99, 0, 0, 0, 7, 0xff, 0xff, 1, 2, 3}
	h, req, err := DecodeRequest(frame)
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	require.Nil(t, req)
	require.Equal(t, int16(18), h.Key)

	var resp kmsg.ApiVersionsResponse
	corr := readResponse(t, UnsupportedApiVersions(h), &resp, 0)
	require.Equal(t, int32(7), corr)
	require.Equal(t, kerr.UnsupportedVersion.Code, resp.ErrorCode)
	require.NotEmpty(t, resp.ApiKeys)
}

func TestDecodeRequestRejects(t *testing.T) {
	valid := wire.AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1, nil)
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"empty", nil, ErrShortHeader},
		{"half a header", valid[:5], ErrShortHeader},
		{"client id longer than the frame", []byte{0, 18, 0, 0, 0, 0, 0, 1, 0, 50, 'x'}, ErrShortHeader},
		{"unknown key", []byte{0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, ErrUnknownKey},
		{"known to kmsg, not served", wire.AppendRequest(nil, kmsg.NewPtrProduceRequest(), 1, nil), ErrUnsupportedVersion},
		{"negative version", []byte{0, 18, 0xff, 0xff, 0, 0, 0, 1, 0xff, 0xff}, ErrUnsupportedVersion},
		{"flexible header tags cut off", []byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff}, ErrShortHeader},
		{"2³² header tags claimed in 15 bytes", []byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrShortHeader},
		{"header tag longer than the frame", []byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 1, 0, 9, 'x'}, ErrShortHeader},
		{"flexible body cut off", []byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0, 5, 'a'}, ErrBadBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, req, err := DecodeRequest(c.frame)
			require.ErrorIs(t, err, c.want)
			require.Nil(t, req)
		})
	}
}

func TestRegistryRejectsBadRegistrations(t *testing.T) {
	require.Panics(t, func() { regKey(apiVersionsKey, 0, 4, (*Broker).serveApiVersions) }, "duplicate")
	require.Panics(t, func() { regKey(0x7f00, 0, 1, (*Broker).serveApiVersions) }, "unknown key")
	require.Panics(t, func() { regKey(57, 5, 3, (*Broker).serveApiVersions) }, "min above max")
	require.Panics(t, func() { regKey(57, 0, 999, (*Broker).serveApiVersions) }, "beyond what kmsg can parse")
	require.Panics(t, func() { regKey(57, 0, 1, nil) }, "no handler")
	_, ok := registry[57]
	require.False(t, ok, "a failed registration leaves nothing behind")
}

func TestFrameLength(t *testing.T) {
	frame := []byte("hello")
	stream := wire.AppendFrameLength(nil, frame)
	var prefix [4]byte
	copy(prefix[:], stream)
	n, err := wire.ReadFrameLength(prefix, 100)
	require.NoError(t, err)
	require.Equal(t, int32(5), n)
	_, err = wire.ReadFrameLength(prefix, 4)
	require.Error(t, err, "over the limit")
	_, err = wire.ReadFrameLength([4]byte{0xff, 0xff, 0xff, 0xff}, 100)
	require.Error(t, err, "negative")
}

// FuzzDecodeRequest: no input makes the decoder panic, and whatever decodes
// re-encodes to a frame that decodes to the same header and body.
func FuzzDecodeRequest(f *testing.F) {
	id := "c"
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(v)
		req.ClientSoftwareName = "x"
		f.Add(wire.AppendRequest(nil, req, int32(v), &id))
	}
	f.Add([]byte{0, 18, 0, 99, 0, 0, 0, 7, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, req, err := DecodeRequest(frame)
		if err != nil {
			if req != nil {
				t.Fatal("a request returned with an error")
			}
			return
		}
		again := wire.AppendRequest(nil, req, h.CorrelationID, h.ClientID)
		h2, req2, err := DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if h2.Key != h.Key || h2.Version != h.Version || h2.CorrelationID != h.CorrelationID {
			t.Fatalf("header changed: %+v → %+v", h, h2)
		}
		if string(req2.AppendTo(nil)) != string(req.AppendTo(nil)) {
			t.Fatal("body changed in a round trip")
		}
	})
}
