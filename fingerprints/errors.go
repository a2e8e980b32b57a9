package fingerprints

import "errors"

// Sentinel errors returned (wrapped) by [ParseClientHello], [Fingerprint] and
// the capture [Listener]. Test for them with errors.Is: the wrapping error
// says where in the hello the problem was found.
var (
	// ErrNotTLS means the bytes do not start a TLS handshake record: plain
	// HTTP sent to the TLS port, an SSLv2-compatible hello, or garbage.
	ErrNotTLS = errors.New("fingerprints: not a TLS handshake")

	// ErrTruncated means the bytes end before the ClientHello does: the
	// input was cut short, or the client closed the connection mid-hello.
	// A capture whose hello deadline passed reports ErrTimeout instead.
	ErrTruncated = errors.New("fingerprints: truncated ClientHello")

	// ErrTooLarge means the ClientHello is larger than the configured cap
	// (64 KiB by default). Nothing past the cap is buffered.
	ErrTooLarge = errors.New("fingerprints: ClientHello too large")

	// ErrMalformed means a length field or a list inside the hello is
	// inconsistent: a vector longer than its container, an odd-length list
	// of 16-bit values, a duplicate extension, a handshake message that is
	// not a ClientHello.
	ErrMalformed = errors.New("fingerprints: malformed ClientHello")

	// ErrTimeout means the client did not send its full ClientHello before
	// the capture deadline (10 s by default).
	ErrTimeout = errors.New("fingerprints: ClientHello deadline exceeded")
)
