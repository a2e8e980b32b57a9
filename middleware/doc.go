// Package middleware is mitmwatch for net/http and chi: it judges each
// connection's TLS ClientHello against the browser its requests claim to
// be, hands the [Verdict] to handlers, warns intercepted users with a
// banner, answers GET /.well-known/tls-interception, and can refuse
// sensitive paths to intercepted connections.
//
// # Three lines
//
//	mw, err := middleware.New(middleware.Config{})
//	srv := &http.Server{Handler: mw(mux), ConnContext: middleware.ConnContext}
//	err = srv.ServeTLS(fingerprints.NewListener(ln, fingerprints.ListenerConfig{}), certFile, keyFile)
//
// With chi, r.Use(mw). Handlers call [FromContext] for the verdict.
//
// # Where the fingerprint comes from
//
// In this order:
//
//  1. mitmwatch's own listener (fingerprints.NewListener, with [ConnContext]
//     as the server's ConnContext) captures the ClientHello of the TCP
//     connection: Source "listener". This is right when the TCP connection
//     comes from the client itself, directly or through an L4 load
//     balancer that passes the client address with the PROXY protocol
//     ([ProxyProtocolListener]).
//  2. A trusted upstream that terminated the client's TLS (a CDN, another
//     mitmwatch edge) passes the client's raw hello (base64, header
//     [Config.UpstreamHelloHeader]) or its JA4/JA3
//     ([Config.UpstreamJA4Header], [Config.UpstreamJA3Header]): Source
//     "upstream_hello" or "upstream_fingerprint". These headers are
//     believed only when the connection's peer is in
//     [Config.TrustedProxies]; from anyone else they are deleted from the
//     request before any handler runs.
//
// When the peer is a trusted proxy that sent no such header, the hello on
// the connection is the proxy's own: it says nothing about the user, and
// the verdict is "unknown" with Source "none". This is the L7 caveat:
// behind a TLS-terminating load balancer that does not forward the
// client's fingerprint, mitmwatch cannot see the client's TLS at all.
//
// # Client address
//
// The client address (for country/ASN, the recorder's unique counts and
// logs) is the connection's peer, which [ProxyProtocolListener] has already
// replaced with the address from a trusted balancer's PROXY header. If the
// peer is a trusted proxy, [Config.ClientIPHeader] (X-Forwarded-For, or
// RFC 7239 Forwarded) is walked from the right through trusted hops; the
// first untrusted address is the client, and an unparseable hop ends the
// walk at the last trusted one (fail closed). From an untrusted peer the
// header is ignored.
//
// # Once per connection
//
// The verdict is computed once per connection and User-Agent: the first
// request of a connection classifies, later requests with the same
// User-Agent reuse the result (a pointer load and a string comparison,
// no allocation), and [FromContext] reads it from the connection's state.
// Requests of a second User-Agent on the same connection (HTTP/2 shared by
// several clients) get their own verdict, attached to their context, which
// allocates. So does every request without [ConnContext], and every
// request from a trusted proxy, whose connection carries many clients.
// Each computed verdict is logged (if not clean), counted and recorded
// once.
//
// Of a captured hello's fingerprints, only JA3, its hash and JA4 are
// computed with the verdict: classification, counting and a proxy's
// headers need no others. The remaining five (JA3N and its hash, JA4_r,
// JA4_o, JA4_ro) are computed, once per verdict, the first time the whole
// [Verdict] is asked for ([FromContext], the verdict endpoint).
// [BriefFromContext] reads the decision, JA4, JA3 hash and network without
// that, for handlers that run on every request.
//
// # What the middleware answers itself
//
//   - The banner's assets under BannerConfig.AssetPath.
//   - GET and HEAD [Config.EndpointPath]: the calling connection's
//     [Verdict] as JSON, with Cache-Control: no-store, so that an
//     application's front end can show its own UI.
//   - Requests under [Config.ProtectPaths] on a connection intercepted at
//     [Config.BannerMinConfidence] or more: 403 with a page that says what
//     is happening and what to do.
//
// On such a connection, HTML responses of the handler get the warning
// banner ([Banner]). With [Config.ResponseHeader], every response carries
// "Mitmwatch-Verdict: intercepted;product=\"mitmproxy\"" (an RFC 8941
// token with an optional string parameter). It describes one connection:
// do not let a shared cache store responses that carry it.
//
// # Logs, metrics, recorder
//
// One slog line per computed verdict that is not clean: verdict, product,
// ja4, country, asn, confidence, source and ip_hash, a keyed HMAC of the
// client address ([Config.LogClientIP] writes the address instead).
// Counters mitmwatch_middleware_verdicts_total{verdict},
// mitmwatch_middleware_stripped_requests_total,
// mitmwatch_middleware_blocked_requests_total and
// mitmwatch_middleware_fingerprint_cache_lookups_total{result}: how often a
// captured hello's JA3 and JA4 came from the classifier's cache of hello
// shapes ([fingerprints.Classifier.CoreFingerprints]). An [alerts.Recorder] gets
// one Observation per computed verdict.
package middleware
