package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// problems returns every invalid value of c, keyed by path, without lines.
func (c *Config) problems() []*ConfigError {
	v := &validator{}
	c.validateListen(v)
	c.validateHTTPListen(v)
	c.validateTLS(v)
	c.validateUpstream(v)
	c.validateProxies(v)
	c.validateAdmin(v)
	c.validateGeo(v)
	c.validateStore(v)
	c.validateAlerts(v)
	c.validateDetection(v)
	c.validateLogging(v)
	return v.errs
}

type validator struct{ errs []*ConfigError }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Key: key, Err: fmt.Errorf(format, args...)})
}

func (v *validator) addErr(key string, err error) {
	v.errs = append(v.errs, &ConfigError{Key: key, Err: err})
}

// addNear adds an error on key, located at near when key is not written.
func (v *validator) addNear(key, near string, err error) {
	v.errs = append(v.errs, &ConfigError{Key: key, Err: err, near: near})
}

// positive checks a duration that must be above zero.
func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "must be positive, such as 30s (got %s)", d)
	}
}

// exclusive checks that at most one of a value and its *_file is set.
func (v *validator) exclusive(key, value, file string) {
	if value != "" && file != "" {
		v.add(key, "set %s or %s_file, not both", lastKey(key), lastKey(key))
	}
}

func lastKey(key string) string {
	return key[strings.LastIndexByte(key, '.')+1:]
}

func (c *Config) validateListen(v *validator) {
	if c.Listen == "" {
		v.add("listen", "required (host:port, such as 0.0.0.0:443)")
		return
	}
	if err := checkAddr(c.Listen); err != nil {
		v.addErr("listen", err)
	}
}

// validateHTTPListen checks the optional plain-HTTP listener: a host:port
// that no other listener has.
func (c *Config) validateHTTPListen(v *validator) {
	if c.HTTPSPort < 0 || c.HTTPSPort > 65535 {
		v.add("https_port", "%d: want a port, 1 to 65535 (0: none, as for 443)", c.HTTPSPort)
	}
	if c.HTTPListen == "" {
		return
	}
	if err := checkAddr(c.HTTPListen); err != nil {
		v.addErr("http_listen", err)
		return
	}
	switch {
	case listenersClash(c.HTTPListen, c.Listen):
		v.add("http_listen", "%s", clashMessage(c.HTTPListen, c.Listen, "listen"))
	case listenersClash(c.HTTPListen, c.Admin.Listen):
		v.add("http_listen", "%s", clashMessage(c.HTTPListen, c.Admin.Listen, "admin.listen"))
	}
}

// listenersClash reports whether two listen addresses would want the same
// port on a shared interface, so that the second bind fails: the same port
// (not 0, which picks a free one) and the same address, or one of them on
// every interface. An empty host and "::" take every interface of both
// families, "0.0.0.0" every IPv4 one. "localhost" counts as 127.0.0.1,
// the address Go listens on for it; other host names are compared as
// written (resolving them is the bind's job), so a clash they hide is
// left to the bind's own error rather than refusing a good file.
func listenersClash(a, b string) bool {
	ha, pa, errA := splitHostPort(a)
	hb, pb, errB := splitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == 0 {
		return false
	}
	ka, kb := listenHostKind(ha), listenHostKind(hb)
	switch {
	case ka.any || kb.any:
		return true
	case ka.any4:
		return kb.ip.Is4()
	case kb.any4:
		return ka.ip.Is4()
	case ka.ip.IsValid() || kb.ip.IsValid():
		return ka.ip == kb.ip
	}
	return strings.EqualFold(ha, hb)
}

// listenHost is what a listen host means to listenersClash.
type listenHost struct {
	any  bool       // every interface, both families
	any4 bool       // every IPv4 interface
	ip   netip.Addr // a single address; invalid for a host name
}

func listenHostKind(host string) listenHost {
	if host == "" {
		return listenHost{any: true}
	}
	if strings.EqualFold(host, "localhost") {
		return listenHost{ip: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return listenHost{}
	case a == netip.IPv4Unspecified():
		return listenHost{any4: true}
	case a.IsUnspecified():
		return listenHost{any: true}
	}
	return listenHost{ip: a.Unmap()}
}

// clashMessage says why addr cannot be bound beside other (the value of
// key).
func clashMessage(addr, other, key string) string {
	if addr == other {
		return "same address as " + key
	}
	return fmt.Sprintf("%s and %s %s use the same port on a shared interface: the second would fail to bind", addr, key, other)
}

// checkAddr checks a host:port to listen on or dial.
func checkAddr(addr string) error {
	host, _, err := splitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !hostnameRE.MatchString(host) {
		return fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

func (c *Config) listensOnLoopback() bool {
	host, _, err := splitHostPort(c.Listen)
	return err == nil && isLoopbackHost(host)
}

func (c *Config) validateTLS(v *validator) {
	t := &c.TLS
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		v.add("tls.key_file", "required with tls.cert_file")
	case t.CertFile == "" && t.KeyFile != "":
		v.add("tls.cert_file", "required with tls.key_file")
	}
	for i, cc := range t.Certificates {
		if cc.CertFile == "" {
			v.add(fmt.Sprintf("tls.certificates[%d].cert_file", i), "required")
		}
		if cc.KeyFile == "" {
			v.add(fmt.Sprintf("tls.certificates[%d].key_file", i), "required")
		}
	}
	if a := t.ACME; a != nil {
		if t.CertFile != "" || len(t.Certificates) > 0 {
			v.add("tls.acme", "exclusive with tls.cert_file and tls.certificates: use one or the other")
		}
		if len(a.Domains) == 0 {
			v.add("tls.acme.domains", "required: the host names to obtain certificates for")
		}
		seen := map[string]bool{}
		for i, dom := range a.Domains {
			key := fmt.Sprintf("tls.acme.domains[%d]", i)
			switch d := strings.ToLower(strings.TrimSuffix(dom, ".")); {
			case strings.Contains(d, "*"):
				v.add(key, "%q: autocert matches exact names only, no wildcards", dom)
			case !hostnameRE.MatchString(d) || !strings.Contains(d, "."):
				v.add(key, "%q is not a fully qualified host name", dom)
			case isIP(d):
				v.add(key, "%q is an IP address; ACME here needs a host name", dom)
			case seen[d]:
				v.add(key, "%q is listed twice", dom)
			default:
				seen[d] = true
			}
		}
		if a.Email != "" && (!strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " \t<>")) {
			v.add("tls.acme.email", "%q is not an email address", a.Email)
		}
		if a.DirectoryURL != "" {
			if err := checkURL(a.DirectoryURL, "https"); err != nil {
				v.addErr("tls.acme.directory_url", err)
			}
		}
	}
	switch t.MinVersion {
	case "", "1.2", "1.3":
	default:
		v.add("tls.min_version", "%q: must be 1.2 or 1.3", t.MinVersion)
	}
	if t.CertFile == "" && t.KeyFile == "" && len(t.Certificates) == 0 && t.ACME == nil && checkAddr(c.Listen) == nil && !c.listensOnLoopback() {
		v.addNear("tls", "listen", fmt.Errorf("%w when listen (%s) is not a loopback address: the self-signed certificate is for this machine only", ErrTLSRequired, c.Listen))
	}
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkURL checks an absolute URL with one of schemes and a host.
func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	// "app.internal:8080" parses as scheme "app.internal": a host:port
	// written without its scheme.
	hostPort := err != nil || u.Scheme == "" || strings.Contains(u.Scheme, ".") || isDigits(u.Opaque)
	if !strings.Contains(raw, "://") && hostPort {
		return fmt.Errorf("%q is not a URL: write %s://%s", truncate(redactURL(raw, false)), schemes[0], truncate(raw))
	}
	if err != nil {
		return fmt.Errorf("%q is not a URL", truncate(redactURL(raw, false)))
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return fmt.Errorf("%q: the scheme must be %s", truncate(redactURL(raw, false)), strings.Join(schemes, " or "))
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", truncate(redactURL(raw, false)))
	}
	if p := u.Port(); p != "" {
		if _, _, err := splitHostPort("x:" + p); err != nil {
			return fmt.Errorf("%q: bad port %q", truncate(redactURL(raw, false)), p)
		}
	}
	return nil
}

func (c *Config) validateUpstream(v *validator) {
	if c.Upstream != "" && len(c.Upstreams) > 0 {
		v.add("upstreams", "exclusive with upstream: set one")
	}
	if c.Upstream != "" {
		if err := checkUpstream(c.Upstream); err != nil {
			v.addErr("upstream", err)
		}
	}
	seen := map[string]bool{}
	for i, u := range c.Upstreams {
		key := fmt.Sprintf("upstreams[%d]", i)
		if err := checkUpstream(u); err != nil {
			v.addErr(key, err)
		} else if seen[u] {
			v.add(key, "%q is listed twice", redactURL(u, false))
		}
		seen[u] = true
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func checkUpstream(raw string) error {
	if err := checkURL(raw, "http", "https"); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: an upstream URL has no query or fragment", redactURL(raw, false))
	}
	return nil
}

// checkTrust checks a list of trusted CIDRs. A /0 trusts the whole
// Internet: anyone could then forge a client address or a fingerprint.
func checkTrust(v *validator, key string, list []netip.Prefix) {
	seen := map[netip.Prefix]bool{}
	for i, p := range list {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case !p.IsValid():
			v.add(k, "required: a CIDR such as 10.0.0.0/8")
		case p.Bits() == 0:
			v.add(k, "%s trusts every address, so any client could forge its address: list your proxies' ranges", p)
		case seen[p]:
			v.add(k, "%s is listed twice", p)
		}
		seen[p] = true
	}
}

func (c *Config) validateProxies(v *validator) {
	if c.ProxyProtocol.Enabled && len(c.ProxyProtocol.Trusted) == 0 {
		v.add("proxy_protocol.trusted", "required when proxy_protocol.enabled: the load balancers' CIDRs (otherwise any client could send a PROXY header and claim any address)")
	}
	checkTrust(v, "proxy_protocol.trusted", c.ProxyProtocol.Trusted)
	checkTrust(v, "trusted_proxies", c.TrustedProxies)
	f := &c.Forwarded
	seen := map[string]string{}
	for _, h := range []struct{ key, name string }{
		{"forwarded.client_ip_header", f.ClientIPHeader},
		{"forwarded.hello_header", f.HelloHeader},
		{"forwarded.ja4_header", f.JA4Header},
		{"forwarded.ja3_header", f.JA3Header},
	} {
		if h.name == "" {
			continue // the default
		}
		if !isHeaderName(h.name) {
			v.add(h.key, "%q is not an HTTP header name", h.name)
			continue
		}
		canon := http.CanonicalHeaderKey(h.name)
		if other, dup := seen[canon]; dup {
			v.add(h.key, "%s is also %s: each header carries one thing", h.name, other)
		}
		seen[canon] = h.key
	}
}

// isHeaderName reports whether s is an HTTP field name (RFC 9110 §5.1:
// a token).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

func (c *Config) validateAdmin(v *validator) {
	a := &c.Admin
	v.exclusive("admin.token", a.Token, a.TokenFile)
	if a.Token != "" {
		if err := checkToken(a.Token); err != nil {
			v.addErr("admin.token", err)
		}
	}
	if a.Listen == "" {
		return
	}
	if err := checkAddr(a.Listen); err != nil {
		v.addErr("admin.listen", err)
		return
	}
	host, _, _ := splitHostPort(a.Listen)
	if !isLoopbackHost(host) && a.Token == "" && a.TokenFile == "" {
		v.add("admin.listen", "%s is not a loopback address: set admin.token or admin.token_file (metrics and the dashboard would be open to the network)", a.Listen)
	}
	if listenersClash(a.Listen, c.Listen) {
		v.add("admin.listen", "%s", clashMessage(a.Listen, c.Listen, "listen"))
	}
}

// checkToken checks the admin token as the admin listener will
// (MinAdminTokenLength printable ASCII characters, no spaces), so that
// `config check` catches what would stop the server. The message never
// repeats the token.
func checkToken(s string) error {
	if len(s) < MinAdminTokenLength {
		return fmt.Errorf("too short: at least %d characters (try: openssl rand -hex 16)", MinAdminTokenLength)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("printable ASCII without spaces only (it goes in an Authorization header)")
		}
	}
	return nil
}

// checkClientKey checks the unique-client hash key.
func checkClientKey(s string) error {
	if len(s) < 16 {
		return errors.New("too short: at least 16 characters (try: openssl rand -hex 16)")
	}
	return nil
}

// validateGeo checks the static entries by middleware.NewGeo's own rules;
// without database paths NewGeo opens no file.
func (c *Config) validateGeo(v *validator) {
	g, err := middleware.NewGeo(middleware.GeoConfig{Static: c.Geo.Static})
	if err != nil {
		v.errs = append(v.errs, packageErrors(err, middleware.ErrGeoConfig, "geo")...)
		return
	}
	g.Close()
}

func (c *Config) validateStore(v *validator) {
	s := &c.Store
	v.positive("store.retention", s.Retention)
	v.exclusive("store.client_key", s.ClientKey, s.ClientKeyFile)
	if s.ClientKey != "" {
		if err := checkClientKey(s.ClientKey); err != nil {
			v.addErr("store.client_key", err)
		}
	}
	r := s.Redis
	if r == nil {
		return
	}
	if len(r.Addrs) == 0 {
		v.add("store.redis.addrs", "required: host:port of the server, the cluster's nodes or the sentinels")
	}
	for i, a := range r.Addrs {
		if _, port, err := splitHostPort(a); err != nil {
			v.addErr(fmt.Sprintf("store.redis.addrs[%d]", i), err)
		} else if host, _, _ := splitHostPort(a); host == "" || port == 0 {
			v.add(fmt.Sprintf("store.redis.addrs[%d]", i), "%q: want host:port with both", a)
		}
	}
	v.exclusive("store.redis.password", r.Password, r.PasswordFile)
	if r.DB < 0 {
		v.add("store.redis.db", "must not be negative")
	}
	if r.DB != 0 && r.MasterName == "" && len(r.Addrs) > 1 {
		v.add("store.redis.db", "a Redis Cluster (two or more addrs) has database 0 only")
	}
	if strings.ContainsAny(r.KeyPrefix, "{}") {
		// alerts.RedisConfig.Prefix: braces would become a hash tag.
		v.add("store.redis.key_prefix", "%q: must not contain { or }", r.KeyPrefix)
	}
}

// placeholderSecret stands in, during validation, for a webhook secret
// that ReadFiles will read from its secret_file: a valid Standard Webhooks
// secret (32 zero bytes), so the alerts package's checks of everything
// else still run.
const placeholderSecret = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// validateAlerts checks the section by the alerts package's own rules
// (alerts.Config.Validate), plus secret and secret_file being exclusive.
func (c *Config) validateAlerts(v *validator) {
	cfg := c.Alerts.Config()
	for i, w := range c.Alerts.Webhooks {
		v.exclusive(fmt.Sprintf("alerts.webhooks[%d].secret", i), w.Secret, w.SecretFile)
		if w.Secret == "" && w.SecretFile != "" {
			cfg.Webhooks[i].Secret = placeholderSecret
		}
	}
	if err := cfg.Validate(); err != nil {
		v.errs = append(v.errs, packageErrors(err, alerts.ErrConfig, "alerts")...)
	}
}

// packageErrors turns the joined errors of another package's validation,
// each "<sentinel>: key: problem" with the key as written in the YAML,
// into ConfigErrors on those keys, so that they get their line like any
// other. An error of another shape is kept whole on section. Each still
// matches sentinel with errors.Is.
func packageErrors(err error, sentinel error, section string) []*ConfigError {
	var out []*ConfigError
	for _, e := range splitJoined(err) {
		msg := strings.TrimPrefix(e.Error(), sentinel.Error()+": ")
		key, rest, ok := strings.Cut(msg, ": ")
		if !ok || !keyPathRE.MatchString(key) || !strings.HasPrefix(key, section) {
			key, rest = section, msg
		}
		out = append(out, &ConfigError{Key: key, Err: &detailError{msg: rest, err: e}})
	}
	return out
}

// keyPathRE matches a key path such as alerts.webhooks[0].headers.X-Token.
var keyPathRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+|\[\d+\])*$`)

// splitJoined flattens errors.Join, nested ones included. An error from
// fmt.Errorf with several %w also unwraps to a list, but it is one error:
// a join is recognised by its message being its parts' on separate lines.
func splitJoined(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	parts := j.Unwrap()
	msgs := make([]string, len(parts))
	for i, e := range parts {
		msgs[i] = e.Error()
	}
	if err.Error() != strings.Join(msgs, "\n") {
		return []error{err}
	}
	var out []error
	for _, e := range parts {
		out = append(out, splitJoined(e)...)
	}
	return out
}

// detailError is another package's error shown by its detail alone (the
// key is in the ConfigError); it unwraps to the original.
type detailError struct {
	msg string
	err error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.err }

// checkWebhookSecret checks a Standard Webhooks symmetric secret read from
// a secret_file (inline secrets are checked by the alerts package): "whsec_"
// then base64 of 24 to 64 bytes ("Signing secret: Random. Between 24 bytes
// (192 bits) and 64 bytes (512 bits)", "base64 encoded, prefixed with
// whsec_", Standard Webhooks specification, "Signature scheme"). The
// message never repeats the secret.
func checkWebhookSecret(s string) error {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return errors.New("must start with whsec_ (a Standard Webhooks secret)")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return errors.New("the part after whsec_ is not base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return fmt.Errorf("decodes to %d bytes; Standard Webhooks wants 24 to 64 (try: echo whsec_$(openssl rand -base64 32))", len(key))
	}
	return nil
}

func (c *Config) validateDetection(v *validator) {
	d := &c.Detection
	if !(d.BannerMinConfidence > 0 && d.BannerMinConfidence <= 1) {
		v.add("detection.banner_min_confidence", "must be in (0,1]")
	}
	for i, p := range d.ProtectPaths {
		if !strings.HasPrefix(p, "/") {
			v.add(fmt.Sprintf("detection.protect_paths[%d]", i), "%q: a path starts with /", truncate(p))
		}
	}
	for i, h := range d.UpstreamHeaders {
		if _, err := newHeaderKeys([]string{h}); err != nil {
			v.add(fmt.Sprintf("detection.upstream_headers[%d]", i), "%q: want one of %s", truncate(h), strings.Join(annotationHeaderNames(), ", "))
		}
	}
	for i, f := range d.SignatureFiles {
		if f == "" {
			v.add(fmt.Sprintf("detection.signature_files[%d]", i), "empty file name")
		}
	}
	if p := d.Endpoint.Path; p != "" && !d.Endpoint.Disabled {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# ") || strings.ContainsFunc(p, unicode.IsControl) {
			v.add("detection.endpoint.path", "%q: want an absolute path such as %s, without query, fragment or spaces", p, middleware.DefaultEndpointPath)
		}
	}
	if d.Banner.HelpURL != "" {
		if err := checkURL(d.Banner.HelpURL, "https", "http"); err != nil {
			v.addErr("detection.banner.help_url", err)
		}
	}
}

func (c *Config) validateLogging(v *validator) {
	switch c.Logging.Level {
	case "", "debug", "info", "warn", "error":
	default:
		v.add("logging.level", "%q: must be debug, info, warn or error", truncate(c.Logging.Level))
	}
	switch c.Logging.Format {
	case "", "text", "json":
	default:
		v.add("logging.format", "%q: must be text or json", truncate(c.Logging.Format))
	}
	v.positive("shutdown.timeout", c.Shutdown.Timeout)
	if f := c.Runtime.GCHeapFloorMiB; f < 0 || f > maxGCHeapFloorMiB {
		v.add("runtime.gc_heap_floor_mib", "%d: must be 0 (off) to %d", f, maxGCHeapFloorMiB)
	}
}

// maxGCHeapFloorMiB is the largest heap floor accepted: 1 TiB, far above any
// sensible value, so that a unit mistake (bytes for MiB) is caught.
const maxGCHeapFloorMiB = 1 << 20
