package middleware

import (
	"errors"
	"net/netip"
	"testing"
)

func TestClientIPWalk(t *testing.T) {
	trusted, err := parseTrusted("t", []string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	peer := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		name      string
		values    []string
		forwarded bool
		want      string
	}{
		{"no_header_means_the_trusted_peer_itself", nil, false, "10.0.0.1"},
		{"single_hop_is_the_client", []string{"198.51.100.7"}, false, "198.51.100.7"},
		{"trusted_hops_on_the_right_are_skipped", []string{"198.51.100.7, 10.1.2.3, 192.0.2.1"}, false, "198.51.100.7"},
		{"client_prepended_spoof_left_of_the_real_client_is_never_read", []string{"203.0.113.66, 198.51.100.7"}, false, "198.51.100.7"},
		{"spoofed_trusted_address_left_of_the_client_is_never_read", []string{"10.9.9.9, 198.51.100.7, 10.1.1.1"}, false, "198.51.100.7"},
		{"several_header_lines_are_one_list_last_line_nearest", []string{"203.0.113.66", "198.51.100.7, 10.1.1.1"}, false, "198.51.100.7"},
		{"all_hops_trusted_gives_the_leftmost", []string{"10.2.2.2, 10.1.1.1"}, false, "10.2.2.2"},
		{"xff_with_garbage_hop_fails_closed", []string{"198.51.100.7, not-an-ip, 10.1.1.1"}, false, "10.1.1.1"},
		{"xff_garbage_as_nearest_hop_keeps_the_peer", []string{"198.51.100.7, <script>"}, false, "10.0.0.1"},
		{"xff_trailing_empty_hop_fails_closed", []string{"198.51.100.7,"}, false, "10.0.0.1"},
		{"xff_ipv6_and_ports_parse", []string{"[2001:db8::7]:443, 2001:db8:ffff::1"}, false, "2001:db8::7"},
		{"xff_ipv4_mapped_ipv6_is_ipv4", []string{"::ffff:198.51.100.7"}, false, "198.51.100.7"},
		{"xff_zone_is_garbage", []string{"fe80::1%eth0"}, false, "10.0.0.1"},
		{"forwarded_for_is_read", []string{`for=198.51.100.7;proto=https, for=10.1.1.1`}, true, "198.51.100.7"},
		{"forwarded_quoted_ipv6_with_port", []string{`for="[2001:db8::7]:4711"`}, true, "2001:db8::7"},
		{"forwarded_case_insensitive_parameter_name", []string{`For=198.51.100.7`}, true, "198.51.100.7"},
		{"forwarded_with_garbage_hop_fails_closed", []string{`for=198.51.100.7, for=garbage, for=10.1.1.1`}, true, "10.1.1.1"},
		{"forwarded_unknown_node_fails_closed", []string{`for=198.51.100.7, for=unknown`}, true, "10.0.0.1"},
		{"forwarded_obfuscated_node_fails_closed", []string{`for=_hidden`}, true, "10.0.0.1"},
		{"forwarded_element_without_for_fails_closed", []string{`for=198.51.100.7, by=10.1.1.1;proto=https`}, true, "10.0.0.1"},
		{"forwarded_comma_inside_quotes_does_not_split", []string{`for=198.51.100.8, for=10.1.1.1;ext="a, for=203.0.113.66"`}, true, "198.51.100.8"},
		{"forwarded_escaped_quote_inside_quotes_does_not_end_them", []string{`for=198.51.100.8, for=10.1.1.1;ext="a\", for=203.0.113.66"`}, true, "198.51.100.8"},
		{"forwarded_semicolon_inside_quotes_does_not_split", []string{`ext="x;for=203.0.113.66";for=198.51.100.9`}, true, "198.51.100.9"},
		{"forwarded_unbracketed_ipv6_fails_closed", []string{`for=2001:db8::7`}, true, "10.0.0.1"},
		// A client's unbalanced quote must not swallow the element the
		// trusted proxy appended after it on the same line.
		{"forwarded_client_unbalanced_quote_left_of_the_proxys_element", []string{`for="203.0.113.66, for=198.51.100.7`}, true, "198.51.100.7"},
		{"forwarded_client_open_quoted_param_left_of_the_proxys_elements", []string{`for=203.0.113.66;ext="x, for=198.51.100.7, for=10.1.1.1`}, true, "198.51.100.7"},
		{"forwarded_escaped_backslash_ends_the_quote", []string{`for=198.51.100.8, for=10.1.1.1;ext="a\\", for=10.2.2.2`}, true, "198.51.100.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientIP(peer, tt.values, tt.forwarded, trusted)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("clientIP(%q) = %v, want %s", tt.values, got, tt.want)
			}
		})
	}
}

func TestParseTrusted(t *testing.T) {
	set, err := parseTrusted("TrustedProxies", []string{"10.0.0.0/8", " 192.0.2.1 ", "2001:db8::/32", "::ffff:198.51.100.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"10.200.1.1", true},
		{"192.0.2.1", true},
		{"192.0.2.2", false},
		{"2001:db8:1::1", true},
		{"::ffff:10.1.1.1", true}, // mapped addresses are compared unmapped
		{"198.51.100.9", true},    // a mapped prefix is reduced to IPv4
		{"203.0.113.1", false},
	} {
		if got := set.contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if set.contains(netip.Addr{}) {
		t.Error("the unknown address is trusted")
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::1%eth0", ""} {
		_, err := parseTrusted("TrustedProxies", []string{"10.0.0.0/8", bad})
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("parseTrusted(%q) = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

func TestParsePeer(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1:443", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[::ffff:192.0.2.1]:443", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"@", "invalid IP"},
		{"", "invalid IP"},
	} {
		if got := parsePeer(tt.in).String(); got != tt.want {
			t.Errorf("parsePeer(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
