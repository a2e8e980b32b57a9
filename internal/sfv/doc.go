// Package sfv writes the few RFC 8941 (Structured Field Values for HTTP)
// items mitmwatch puts in its headers: strings, into a caller's buffer, so
// that a header value built per request costs one allocation, its own;
// and Printable, the same rule for a header value that is plain text.
//
// It writes only. mitmwatch reads structured fields in one place, the
// Sec-CH-UA client hints, with a parser of its own in package
// fingerprints.
package sfv
