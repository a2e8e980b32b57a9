// Package fingerprints captures, parses and fingerprints TLS ClientHellos,
// and decides what the hello says about the client that sent it.
//
// A browser's TLS stack is part of the browser. An HTTPS interceptor (a
// corporate proxy, an antivirus "HTTPS scanner", a state middlebox)
// terminates the user's TLS and opens its own connection to the site, so
// the site receives the interceptor's ClientHello under the browser's
// User-Agent. This package turns the ClientHello into comparable facts.
//
// # Capture
//
// [NewListener] wraps a net.Listener. Each accepted [Conn] records the raw
// ClientHello on its first Read (the one crypto/tls makes), on the
// connection's own goroutine, bounded in size and time, and replays the
// bytes so the TLS handshake is exactly what it would be without
// mitmwatch. [ConnContext] plugs into http.Server.ConnContext so that
// handlers read the hello with [ClientHelloFromContext].
//
// Hellos that arrive from elsewhere (a header from a trusted upstream, a
// pcap) go through [Fingerprint], which accepts record-framed bytes or a
// bare handshake message.
//
// # Parsing
//
// [ParseClientHello] is strict and bounds-checked: every length is checked
// against its container, and failures wrap one of [ErrNotTLS],
// [ErrTruncated], [ErrTooLarge] or [ErrMalformed]. Lists keep wire order
// and GREASE values (RFC 8701) so that classifiers can see both. A typical
// hello parses with three allocations: the [ClientHello] itself, which
// carries inline storage for its lists, the server name and the ALPN list.
//
// # Fingerprints
//
// [ClientHello.Fingerprints] computes:
//
//   - JA3 (Salesforce), exactly as Wireshark's tls.handshake.ja3 does, and
//     its MD5. When a hello's last extension is GREASE, github.com/dreadl0ck/ja3
//     v1.0.2 leaves a trailing "-" in the extension field; mitmwatch follows
//     the reference, and a differential test pins that one divergence.
//   - JA3N, JA3 with sorted extensions, stable under Chrome's
//     per-connection extension shuffling (Chrome 110 and later).
//   - JA4, JA4_r, JA4_o and JA4_ro per FoxIO's specification
//     (github.com/FoxIO-LLC/ja4, technical_details/JA4.md), GREASE ignored
//     everywhere including the signature algorithms.
//
// A server needs only JA3, its MD5 and JA4 per connection
// ([ClientHello.CoreFingerprints]). [Classifier.CoreFingerprints] returns
// the same, remembered per hello shape: every connection of a client stack
// sends a hello of the same shape (the random, session ID, key shares and
// server name change, and none of them is in JA3 or JA4), so a busy
// server computes each stack's fingerprints once. Chrome's shuffled
// extension order still finds its JA4; its JA3, which is in wire order, is
// computed again.
package fingerprints
