// Package server assembles mitmwatch's servers from the other packages:
// TLS listeners with ClientHello capture, handlers, lifecycle. It adds no
// detection logic of its own.
//
// # Demo
//
// [RunDemo] is what `mitmwatch` runs with no arguments: HTTPS on
// 127.0.0.1:8443 with a self-signed certificate generated on first run and
// cached (package internal/selfsigned). Its page / shows the visitor's
// fingerprints in HTML; [WellKnownPath] returns them as a JSON [Report]
// with Cache-Control: no-store. [NewDemoHandler] is the handler alone, for
// a server that already captures ClientHellos.
//
// # Fingerprint command
//
// [RunFingerprint] is `mitmwatch fingerprint`: it prints one JSON [Report]
// line per connection, with the parsed hello ([Parsed]), the User-Agent of
// the first request if one arrives, or the capture error; with a save
// directory it also writes each raw hello as hex. This is how an operator
// learns the signature of their own corporate proxy: point the proxied
// browser at it and read the line.
//
// # Serving
//
// Both follow one straight line: TCP listener → fingerprints.Listener
// (captures the raw ClientHello) → crypto/tls (HTTP/2 and HTTP/1.1) →
// net/http with fingerprints.ConnContext, so handlers read the hello with
// fingerprints.ClientHelloFromContext. Servers have read, write, header and
// idle timeouts, log the URL to open at start, and shut down gracefully
// when their context is cancelled.
//
// # Report
//
// [Report] is the one JSON shape for the endpoint, the fingerprint command
// and its saved .json files. Its required names are ja3, ja3_hash, ja3n,
// ja4, ja4_r, tls_version, alpn, sni and user_agent; the detection verdict
// will add fields, never rename these.
package server
