// Package server assembles mitmwatch's servers from the other packages:
// TLS listeners with ClientHello capture, handlers, lifecycle. It adds no
// detection logic of its own.
//
// # Demo
//
// [RunDemo] is what `mitmwatch` runs with no arguments: HTTPS on
// 127.0.0.1:8443 with a self-signed certificate generated on first run and
// cached (package internal/selfsigned). Its page / goes through the
// detection middleware (package middleware) with the warning banner on and
// shows the visitor's verdict and fingerprints in HTML; [WellKnownPath] is
// the middleware's endpoint, the verdict as JSON with Cache-Control:
// no-store. [NewDemoHandler] is the page handler alone, for a server that
// already captures ClientHellos and runs the middleware.
//
// # Fingerprint command
//
// [RunFingerprint] is `mitmwatch fingerprint`: it prints one JSON [Report]
// line per connection, with the parsed hello ([Parsed]), the User-Agent and
// verdict of the first request if one arrives, or the capture error; with a save
// directory it also writes each raw hello as hex. This is how an operator
// learns the signature of their own corporate proxy: point the proxied
// browser at it and read the line.
//
// # Serving
//
// Both follow one straight line: TCP listener → fingerprints.Listener
// (captures the raw ClientHello) → crypto/tls (HTTP/2 and HTTP/1.1) →
// net/http with middleware.ConnContext (which includes
// fingerprints.ConnContext), so the middleware judges each connection once
// and handlers read the hello with fingerprints.ClientHelloFromContext. Servers have read, write, header and
// idle timeouts, log the URL to open at start, and shut down gracefully
// when their context is cancelled.
//
// [Edge] (`mitmwatch serve`) has up to three listeners: the public HTTPS
// one above (listen); the admin one, plain HTTP, with metrics, health and
// the dashboard (admin.listen); and, when http_listen is set, a plain-HTTP
// one that answers ACME http-01 challenges and redirects everything else
// to https ([CertManager.HTTPHandler]). Only the first captures and judges
// ClientHellos; its capture listener's counters are on /metrics as
// mitmwatch_capture_connections_total and
// mitmwatch_capture_hellos_total{result}, result one of captured, not_tls,
// truncated, too_large, malformed and timeout (a connection counts in one
// once its capture has ended).
//
// # What the upstream is told
//
// The edge's [Proxy] deletes every Mitmwatch-* request header a client
// sent, then adds its own: by default [HeaderVerdict] and [HeaderSummary]
// (verdict, confidence, product, JA4, JA3, country and ASN in one RFC 8941
// dictionary); detection.upstream_headers ([ProxyConfig.Headers]) can send
// each of those as a header of its own ([HeaderConfidence] and the rest)
// instead, or none. Few headers are the cheap choice: net/http on both
// ends of the upstream connection works per header and per byte on every
// request, and the seven single-value headers cost the edge about three
// times what the summary does (docs/benchmarks.md).
//
// On these requests [HeaderVerdict] is the bare verdict token
// ("intercepted"); the product is in the summary. The middleware's response
// header of the same name, which a browser's script may read, carries the
// product as a parameter ("intercepted;product=\"mitmproxy\""). Both are
// RFC 8941 Items, so a structured-field parser reads either; code that
// compares strings should compare the token before any ';'.
//
// # Report
//
// [Report] is the one JSON shape for the endpoint, the fingerprint command
// and its saved .json files: the middleware's Verdict (verdict, product,
// confidence, grade, reasons, client, …, the fingerprints, tls_version,
// alpn, sni, user_agent, country, asn, as_org, source, error) plus the
// fingerprint command's time, remote_addr, parsed and saved_as. Names are
// added, never renamed.
package server
