package middleware

import (
	"fmt"
	"net/netip"
	"strings"
)

// trustedSet is a parsed list of trusted proxy prefixes. It is small (a
// handful of CIDRs), so a linear scan beats anything cleverer.
type trustedSet []netip.Prefix

// parseTrusted parses addresses and CIDR prefixes. A bare address is its
// own /32 or /128. IPv4-mapped IPv6 prefixes are reduced to IPv4 so that
// they match what contains() compares (it unmaps addresses first).
func parseTrusted(field string, list []string) (trustedSet, error) {
	var out trustedSet
	for i, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not an address or CIDR prefix", s)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not an address or CIDR prefix", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// contains reports whether a is in one of the prefixes. The zero Addr is
// never trusted.
func (t trustedSet) contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePeer parses http.Request.RemoteAddr ("192.0.2.1:1234",
// "[2001:db8::1]:443"). Anything else (a Unix socket path, an empty string
// from a handler test) gives the zero Addr: an unknown peer, never a
// trusted one.
func parsePeer(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// clientIP returns the client address of a request whose peer is trusted:
// it walks the forwarding header from the right (the hop nearest to us)
// leftwards, skipping trusted proxies, and returns the first address that
// is not one: the one the outermost trusted proxy saw connect. Addresses
// to its left were written by the client or by proxies nobody vouches
// for, and are never read.
//
// The walk fails closed. A hop that does not parse (garbage, "unknown", an
// obfuscated RFC 7239 node, an element without for=) ends it, and the
// answer is the last address that was vouched for: the nearest trusted
// proxy that still reported a parseable hop, not anything beyond the
// garbage. Skipping the bad hop instead would let whoever wrote it choose
// the address that lands to its left.
func clientIP(peer netip.Addr, values []string, forwarded bool, trusted trustedSet) netip.Addr {
	last := peer
	// Header lines are in arrival order; the last line holds the
	// nearest hops.
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			var hop string
			if forwarded {
				v, hop = cutLastElement(v)
			} else {
				v, hop = cutLast(v, ',')
			}
			hop = strings.TrimSpace(hop)
			if hop == "" && v == "" {
				break // end of this line (an empty header line or trailing empty element)
			}
			var a netip.Addr
			var ok bool
			if forwarded {
				a, ok = forwardedFor(hop)
			} else {
				a, ok = parseHop(hop)
			}
			if !ok {
				return last
			}
			if !trusted.contains(a) {
				return a
			}
			last = a
			if v == "" {
				break
			}
		}
	}
	return last
}

// cutLast splits s at its last sep: before, after.
func cutLast(s string, sep byte) (string, string) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with a
// port ("192.0.2.1:443", "[2001:db8::1]:443"), as some proxies write it.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// cutLastElement splits an RFC 7239 Forwarded value at its last
// element-separating comma, one outside a quoted-string. It reads from the
// right: a trusted proxy appends its element to whatever the client sent,
// and a quote the client left open must not swallow that element, which a
// scan from the left would (it would read the proxy's commas as quoted).
// Read from the right, the proxy's well-formed elements split exactly,
// and the client's text to their left is only ever one more element.
func cutLastElement(s string) (string, string) {
	inQuote := false
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case '"':
			if !escapedAt(s, i) {
				inQuote = !inQuote
			}
		case ',':
			if !inQuote {
				return s[:i], s[i+1:]
			}
		}
	}
	return "", s
}

// escapedAt says whether s[i] is escaped: preceded by an odd number of
// backslashes (a quoted-pair, RFC 9110 section 5.6.4).
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// forwardedFor returns the address of the for= parameter of one RFC 7239
// forwarded-element ("for=192.0.2.60;proto=https;by=203.0.113.43",
// `for="[2001:db8:cafe::17]:4711"`). An element without for=, or a node
// that is "unknown" or obfuscated ("_hidden"), is not an address.
func forwardedFor(elem string) (netip.Addr, bool) {
	for elem != "" {
		var pair string
		pair, elem = cutPair(elem)
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "for") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		// node = nodename [ ":" node-port ]; an IPv6 nodename is
		// bracketed and must be (RFC 7239 §6).
		if strings.HasPrefix(value, "[") {
			end := strings.IndexByte(value, ']')
			if end < 0 {
				return netip.Addr{}, false
			}
			a, err := netip.ParseAddr(value[1:end])
			if err != nil || !a.Is6() || a.Zone() != "" {
				return netip.Addr{}, false
			}
			return a.Unmap(), true
		}
		host, _, _ := strings.Cut(value, ":")
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() {
			return netip.Addr{}, false
		}
		return a, true
	}
	return netip.Addr{}, false
}

// cutPair splits off the first ";"-separated pair of a forwarded-element,
// honouring quoted-strings. Within one element, read from the left: the
// element is one writer's.
func cutPair(s string) (string, string) {
	i := indexUnquoted(s, ';')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// indexUnquoted returns the index of the first sep in s that lies outside
// a quoted-string, or -1. A backslash inside a quoted-string escapes the
// next byte, so neither an escaped quote nor a separator hidden in a
// quoted value splits anything.
func indexUnquoted(s string, sep byte) int {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if inQuote {
				i++
			}
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			return i
		}
	}
	return -1
}
