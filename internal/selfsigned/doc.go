// Package selfsigned makes and caches the self-signed TLS certificate that
// mitmwatch's demo and fingerprint commands serve.
//
// # Why self-signed
//
// The demo and `mitmwatch fingerprint` exist to show a visitor the TLS
// ClientHello their own machine sends. They need a certificate so that a
// browser or a corporate proxy will start a handshake, but nothing they serve
// is secret: a browser warning that the operator clicks through once is an
// acceptable price for needing no CA, no ACME and no network.
//
// # Cache
//
// [LoadOrCreate] keeps the certificate in cert.pem and key.pem under a
// directory (by default [DefaultDir], os.UserCacheDir()/mitmwatch), so that
// the browser exception the user granted keeps matching across restarts. The
// pair is regenerated when a file is missing or unreadable, when the two do
// not match, when the certificate no longer covers the loopback names, or
// when it expires within [RenewBefore].
//
// # Certificate
//
// An ECDSA P-256 key; subject alternative names localhost, 127.0.0.1 and ::1;
// valid for [Validity] (a year, under the 398-day ceiling browsers apply to
// leaf certificates); extended key usage serverAuth.
package selfsigned
