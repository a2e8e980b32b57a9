package middleware

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkGeoLookup measures one attribution, which the middleware does
// once per connection. Static entries are a short list in practice;
// static_miss_1000_entries is the worst case of a long one.
func BenchmarkGeoLookup(b *testing.B) {
	kz := netip.MustParseAddr("192.0.2.1")
	static := []StaticGeo{
		{CIDR: "10.0.0.0/8", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"},
		{CIDR: "127.0.0.0/8", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"},
		{CIDR: "192.168.0.0/16", Country: "DE"},
		{CIDR: "fd00::/8", Country: "DE"},
	}
	var many []StaticGeo
	for i := range 1000 {
		many = append(many, StaticGeo{CIDR: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256), Country: "KZ"})
	}
	tests := []struct {
		name string
		cfg  GeoConfig
		ip   netip.Addr
		want Location
	}{
		{"static_hit", GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn, Static: static}, netip.MustParseAddr("127.0.0.1"), locKZ},
		{"static_hit_ipv4_mapped", GeoConfig{Static: static}, netip.MustParseAddr("::ffff:127.0.0.1"), locKZ},
		{"mmdb_hit_geolite2_country_and_asn", GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn, Static: static}, kz, locKZ},
		{"mmdb_hit_geolite2_city_and_asn", GeoConfig{CountryDB: geoFiles.city, ASNDB: geoFiles.asn}, kz, locKZ},
		{"mmdb_hit_one_combined_file", GeoConfig{CountryDB: geoFiles.combined, ASNDB: geoFiles.combined}, kz, locKZ},
		{"mmdb_hit_ipv6", GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn}, netip.MustParseAddr("2001:db8::1"), locFR},
		{"miss", GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn, Static: static}, netip.MustParseAddr("100.64.0.1"), locUnknown},
		{"miss_ipv6_on_ipv4_only_files", GeoConfig{CountryDB: geoFiles.flatCountryV4, ASNDB: geoFiles.flatASNV4}, netip.MustParseAddr("2001:db8::1"), locUnknown},
		{"static_miss_1000_entries", GeoConfig{Static: many}, netip.MustParseAddr("100.64.0.1"), locUnknown},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			g := newTestGeo(b, tt.cfg)
			if got := g.Lookup(tt.ip); got != tt.want {
				b.Fatalf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				g.Lookup(tt.ip)
			}
		})
	}
	b.Run("mmdb_hit_parallel", func(b *testing.B) {
		g := newTestGeo(b, GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g.Lookup(kz)
			}
		})
	})
}
