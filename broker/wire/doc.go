// Package wire is the client side of Kafka framing that every gregor
// component shares: encoding request frames, decoding response frames,
// the stream length prefix, and bounded tagged-field skipping. The broker
// decodes requests itself (it needs its API registry); peers, the quorum
// and the in-sim clients import only this leaf package, which keeps them
// free of import cycles with the broker.
//
// Owns: request encoding, response decoding, length prefixes.
// Must not import: any other gregor package.
package wire
