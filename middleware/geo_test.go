package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/mitmwatch/mitmwatch/internal/mmdbtest"
)

// geoFiles are the test databases TestMain writes, one per layout and
// one per kind of broken file.
var geoFiles struct {
	dir string

	country, city, dbipCountry, registeredOnly, flatCountry, flatCountryV4 string
	asn, dbipASN, flatASN, flatASNV4                                       string
	combined                                                               string // country_code and ASN in one file of unknown type
	brokenRecord                                                           string // GeoLite2-Country whose country is a string

	notMMDB, empty, noKnownFields, wrongFieldType string
}

// The networks every country layout holds.
var testCountries = map[string]string{
	"192.0.2.0/24":     "KZ",
	"198.51.100.0/24":  "DE",
	"203.0.113.0/25":   "kz", // lower case in the file
	"203.0.113.128/25": "XXX",
	"2001:db8::/32":    "FR",
}

var testASNs = map[string]mmdbtest.ASN{
	"192.0.2.0/24":    {Number: 9198, Org: "JSC Kazakhtelecom"},
	"198.51.100.0/24": {Number: 3320, Org: "Deutsche Telekom AG"},
	"203.0.113.0/24":  {Org: "organization without a number"},
	"2001:db8::/32":   {Number: 3215, Org: "Orange S.A."},
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mitmwatch-middleware-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = writeGeoFiles(dir)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain: writing geo test databases:", err)
	} else {
		code = m.Run()
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func writeGeoFiles(dir string) error {
	f := &geoFiles
	f.dir = dir
	path := func(name string) string { return filepath.Join(dir, name) }
	v4 := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if !strings.Contains(k, ":") {
				out[k] = v
			}
		}
		return out
	}
	f.country, f.city, f.dbipCountry = path("GeoLite2-Country.mmdb"), path("GeoLite2-City.mmdb"), path("dbip-country-lite.mmdb")
	f.flatCountry, f.flatCountryV4 = path("asn-country.mmdb"), path("asn-country-ipv4.mmdb")
	f.asn, f.dbipASN, f.flatASN, f.flatASNV4 = path("GeoLite2-ASN.mmdb"), path("dbip-asn-lite.mmdb"), path("asn.mmdb"), path("iptoasn-asn-ipv4.mmdb")
	f.registeredOnly, f.combined, f.brokenRecord = path("registered-only.mmdb"), path("combined.mmdb"), path("broken-record.mmdb")
	f.notMMDB, f.empty, f.noKnownFields, f.wrongFieldType = path("not.mmdb"), path("empty.mmdb"), path("no-known-fields.mmdb"), path("wrong-type.mmdb")

	asnV4 := map[string]mmdbtest.ASN{}
	for k, v := range testASNs {
		if !strings.Contains(k, ":") {
			asnV4[k] = v
		}
	}
	combined := map[string]mmdbtype.DataType{}
	for cidr, iso := range testCountries {
		rec := mmdbtype.Map{"country_code": mmdbtype.String(iso)}
		if as := testASNs[cidr]; as.Number != 0 {
			rec["autonomous_system_number"] = mmdbtype.Uint32(as.Number)
			rec["autonomous_system_organization"] = mmdbtype.String(as.Org)
		}
		combined[cidr] = rec
	}
	str := func(s string) mmdbtype.String { return mmdbtype.String(s) }
	return errors.Join(
		mmdbtest.WriteCountryDB(f.country, testCountries),
		mmdbtest.WriteCountry(f.city, mmdbtest.GeoLite2City, testCountries),
		mmdbtest.WriteCountry(f.dbipCountry, mmdbtest.DBIPCountryLite, testCountries),
		mmdbtest.WriteFlatCountryDB(f.flatCountry, testCountries),
		mmdbtest.WriteCountry(f.flatCountryV4, mmdbtest.FlatCountryIPv4, v4(testCountries)),
		mmdbtest.WriteASNDB(f.asn, testASNs),
		mmdbtest.WriteASN(f.dbipASN, mmdbtest.DBIPASNLite, testASNs),
		mmdbtest.WriteASN(f.flatASN, mmdbtest.FlatASN, testASNs),
		mmdbtest.WriteASN(f.flatASNV4, mmdbtest.FlatASNIPv4, asnV4),
		// GeoLite2 leaves country out where it only knows the registrant,
		// e.g. for some anycast and satellite networks.
		mmdbtest.WriteRecords(f.registeredOnly, mmdbtest.Options{DatabaseType: "GeoLite2-Country"}, map[string]mmdbtype.DataType{
			"192.0.2.0/24": mmdbtype.Map{"registered_country": mmdbtype.Map{"iso_code": str("KZ")}},
		}),
		mmdbtest.WriteRecords(f.combined, mmdbtest.Options{}, combined),
		mmdbtest.WriteRecords(f.brokenRecord, mmdbtest.Options{DatabaseType: "GeoLite2-Country"}, map[string]mmdbtype.DataType{
			"192.0.2.0/24": mmdbtype.Map{"country": str("KZ")},
		}),
		os.WriteFile(f.notMMDB, []byte("country,asn\n192.0.2.0/24,KZ,9198\n"), 0o600),
		mmdbtest.WriteRecords(f.empty, mmdbtest.Options{DatabaseType: "custom"}, nil),
		mmdbtest.WriteRecords(f.noKnownFields, mmdbtest.Options{DatabaseType: "custom"}, map[string]mmdbtype.DataType{
			"192.0.2.0/24": mmdbtype.Map{"city": str("Astana")},
		}),
		// ipinfo-style records: country is a string, not a map.
		mmdbtest.WriteRecords(f.wrongFieldType, mmdbtest.Options{DatabaseType: "ipinfo country_asn.mmdb"}, map[string]mmdbtype.DataType{
			"192.0.2.0/24": mmdbtype.Map{"country": str("KZ"), "asn": str("AS9198")},
		}),
	)
}

func newTestGeo(t testing.TB, cfg GeoConfig) *Geo {
	t.Helper()
	g, err := NewGeo(cfg)
	if err != nil {
		t.Fatalf("NewGeo: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

var (
	locKZ      = Location{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom"}
	locDE      = Location{Country: "DE", ASN: 3320, ASOrg: "Deutsche Telekom AG"}
	locFR      = Location{Country: "FR", ASN: 3215, ASOrg: "Orange S.A."}
	locUnknown = Location{Country: UnknownCountry}
)

func TestGeoLookupCountryLayouts(t *testing.T) {
	tests := []struct {
		name string
		db   string
		ipv6 bool // the file holds the IPv6 network
	}{
		{"geolite2_country", geoFiles.country, true},
		{"geolite2_city_skips_city_fields", geoFiles.city, true},
		{"dbip_country_lite", geoFiles.dbipCountry, true},
		{"ip_location_db_flat_country_code", geoFiles.flatCountry, true},
		{"ip_location_db_flat_ipv4_only_file", geoFiles.flatCountryV4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGeo(t, GeoConfig{CountryDB: tt.db})
			cases := map[string]string{
				"192.0.2.1":        "KZ",
				"::ffff:192.0.2.1": "KZ", // IPv4-mapped, as a dual-stack listener reports it
				"198.51.100.200":   "DE",
				"203.0.113.5":      "KZ", // "kz" in the file
				"203.0.113.200":    UnknownCountry,
				"100.64.0.1":       UnknownCountry,
				"2001:db8:ffff::1": "FR",
				"2001:db8::1%eth0": "FR",
				"2001:db9::1":      UnknownCountry,
			}
			if !tt.ipv6 {
				cases["2001:db8:ffff::1"] = UnknownCountry
				cases["2001:db8::1%eth0"] = UnknownCountry
			}
			for ip, want := range cases {
				got := g.Lookup(netip.MustParseAddr(ip))
				if got != (Location{Country: want}) {
					t.Errorf("Lookup(%s) = %+v, want country %s and no ASN", ip, got, want)
				}
			}
			if n := g.Info().LookupErrors; n != 0 {
				t.Errorf("LookupErrors = %d, want 0 (an IPv6 client on an IPv4-only file is a miss, not an error)", n)
			}
		})
	}
}

// ip-location-db publishes -ipv6 files that hold no IPv4 networks and no
// IPv4 aliases: an IPv4 client is a miss there, not a lookup error.
func TestGeoIPv6OnlyFileIPv4ClientIsAMiss(t *testing.T) {
	path := filepath.Join(t.TempDir(), "asn-country-ipv6.mmdb")
	err := mmdbtest.WriteRecords(path, mmdbtest.Options{DatabaseType: "country ipv6", DisableIPv4Aliasing: true}, map[string]mmdbtype.DataType{
		"2001:db8::/32": mmdbtype.Map{"country_code": mmdbtype.String("FR")},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := newTestGeo(t, GeoConfig{CountryDB: path})
	for ip, want := range map[string]string{"2001:db8::1": "FR", "192.0.2.1": UnknownCountry, "::ffff:192.0.2.1": UnknownCountry} {
		if got := g.Lookup(netip.MustParseAddr(ip)); got != (Location{Country: want}) {
			t.Errorf("Lookup(%s) = %+v, want %s", ip, got, want)
		}
	}
	if n := g.Info().LookupErrors; n != 0 {
		t.Errorf("LookupErrors = %d, want 0", n)
	}
}

func TestGeoLookupRegisteredCountryFallback(t *testing.T) {
	g := newTestGeo(t, GeoConfig{CountryDB: geoFiles.registeredOnly})
	if got := g.Lookup(netip.MustParseAddr("192.0.2.1")); got != (Location{Country: "KZ"}) {
		t.Errorf("record with only registered_country: got %+v, want KZ", got)
	}
}

func TestGeoLookupASNLayouts(t *testing.T) {
	tests := []struct {
		name string
		db   string
		ipv6 bool
	}{
		{"geolite2_asn", geoFiles.asn, true},
		{"dbip_asn_lite", geoFiles.dbipASN, true},
		{"ip_location_db_asn", geoFiles.flatASN, true},
		{"ip_location_db_iptoasn_ipv4_only", geoFiles.flatASNV4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGeo(t, GeoConfig{ASNDB: tt.db})
			cases := map[string]Location{
				"192.0.2.1":        {Country: UnknownCountry, ASN: 9198, ASOrg: "JSC Kazakhtelecom"},
				"::ffff:192.0.2.1": {Country: UnknownCountry, ASN: 9198, ASOrg: "JSC Kazakhtelecom"},
				"198.51.100.9":     {Country: UnknownCountry, ASN: 3320, ASOrg: "Deutsche Telekom AG"},
				// An organisation without a number is no attribution.
				"203.0.113.1": locUnknown,
				"100.64.0.1":  locUnknown,
				"2001:db8::1": {Country: UnknownCountry, ASN: 3215, ASOrg: "Orange S.A."},
			}
			if !tt.ipv6 {
				cases["2001:db8::1"] = locUnknown
			}
			for ip, want := range cases {
				if got := g.Lookup(netip.MustParseAddr(ip)); got != want {
					t.Errorf("Lookup(%s) = %+v, want %+v", ip, got, want)
				}
			}
		})
	}
}

func TestGeoLookupCountryAndASNFiles(t *testing.T) {
	tests := []struct {
		name      string
		cfg       GeoConfig
		sameGen   bool // one reader serves both roles
		wantTypes [2]string
	}{
		{"geolite2_pair", GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn}, false, [2]string{"GeoLite2-Country", "GeoLite2-ASN"}},
		{"dbip_lite_pair", GeoConfig{CountryDB: geoFiles.dbipCountry, ASNDB: geoFiles.dbipASN}, false, [2]string{"DBIP-Country-Lite", "DBIP-ASN-Lite (compat=GeoLite2-ASN)"}},
		{"ip_location_db_pair", GeoConfig{CountryDB: geoFiles.flatCountry, ASNDB: geoFiles.flatASN}, false, [2]string{"country ipv6", "asn ipv6"}},
		{"one_file_for_both_opened_once", GeoConfig{CountryDB: geoFiles.combined, ASNDB: geoFiles.combined}, true, [2]string{"", ""}},
		{"one_file_for_both_unclean_path", GeoConfig{CountryDB: geoFiles.combined, ASNDB: filepath.Join(geoFiles.dir, ".", "combined.mmdb")}, true, [2]string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGeo(t, tt.cfg)
			for ip, want := range map[string]Location{
				"192.0.2.1":      locKZ,
				"198.51.100.200": locDE,
				"2001:db8::1":    locFR,
				"203.0.113.1":    {Country: "KZ"},
				"100.64.0.1":     locUnknown,
			} {
				if got := g.Lookup(netip.MustParseAddr(ip)); got != want {
					t.Errorf("Lookup(%s) = %+v, want %+v", ip, got, want)
				}
			}
			if same := g.dbs.country == g.dbs.asn; same != tt.sameGen {
				t.Errorf("one reader for both roles = %v, want %v", same, tt.sameGen)
			}
			info := g.Info()
			if info.CountryDB.DatabaseType != tt.wantTypes[0] || info.ASNDB.DatabaseType != tt.wantTypes[1] {
				t.Errorf("Info types = %q, %q; want %q", info.CountryDB.DatabaseType, info.ASNDB.DatabaseType, tt.wantTypes)
			}
		})
	}
}

func TestGeoDetectLayout(t *testing.T) {
	tests := []struct {
		name   string
		db     string
		layout string
	}{
		{"known_type_geolite2_country", geoFiles.country, "country.iso_code"},
		{"known_type_dbip_asn", geoFiles.dbipASN, "autonomous_system_number"},
		{"records_of_flat_country", geoFiles.flatCountry, "country_code"},
		{"records_of_flat_asn", geoFiles.flatASN, "autonomous_system_number"},
		{"records_of_combined_file", geoFiles.combined, "country_code+autonomous_system_number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := openGeoDB("geo.test", tt.db)
			if err != nil {
				t.Fatal(err)
			}
			defer db.reader.Close()
			if got := db.caps.String(); got != tt.layout {
				t.Errorf("layout = %s, want %s", got, tt.layout)
			}
		})
	}
}

func TestGeoStaticOverrides(t *testing.T) {
	static := []StaticGeo{
		{CIDR: "192.0.2.0/24", Country: "us", ASN: 64500, Org: "Demo Org"},
		{CIDR: "10.0.0.0/8", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"},
		{CIDR: "10.1.2.3", Country: "FR"},
		{CIDR: "10.1.0.0/16", Country: "DE", ASN: 3320},
		{CIDR: "::ffff:172.16.0.0/108", Country: "NL"},
		{CIDR: "2001:db8:1::/48", Country: "JP", ASN: 2497, Org: "IIJ"},
	}
	tests := []struct {
		name string
		ip   string
		want Location
	}{
		{"static_beats_the_database", "192.0.2.1", Location{Country: "US", ASN: 64500, ASOrg: "Demo Org"}},
		{"database_answers_outside_static_ranges", "198.51.100.1", locDE},
		{"broad_private_range", "10.200.0.1", locKZ},
		{"more_specific_prefix_wins", "10.1.9.9", Location{Country: "DE", ASN: 3320}},
		{"bare_address_is_a_host_route_and_wins", "10.1.2.3", Location{Country: "FR"}},
		{"neighbour_of_host_route_falls_to_the_16", "10.1.2.4", Location{Country: "DE", ASN: 3320}},
		{"ipv4_mapped_client_matches_ipv4_entry", "::ffff:10.1.2.3", Location{Country: "FR"}},
		{"ipv4_mapped_entry_matches_ipv4_client", "172.16.5.5", Location{Country: "NL"}},
		{"ipv6_entry_beats_database", "2001:db8:1::5", Location{Country: "JP", ASN: 2497, ASOrg: "IIJ"}},
		{"ipv6_zone_is_ignored", "2001:db8:1::5%eth0", Location{Country: "JP", ASN: 2497, ASOrg: "IIJ"}},
		{"ipv6_outside_static_falls_to_database", "2001:db8:2::5", locFR},
		{"ipv4_compatible_ipv6_is_not_ipv4", "::10.1.2.3", locUnknown},
	}
	// The answer must not depend on the order of the config list.
	orders := map[string][]StaticGeo{"as_written": static, "reversed": geoReversed(static)}
	for order, list := range orders {
		g := newTestGeo(t, GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn, Static: list})
		for _, tt := range tests {
			t.Run(order+"/"+tt.name, func(t *testing.T) {
				if got := g.Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
					t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
				}
			})
		}
	}
}

func geoReversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// The demo and the e2e tests place loopback clients in a configured
// country and AS with a static entry, as a deployment does for private
// ranges.
func TestGeoLoopbackStatic(t *testing.T) {
	g := newTestGeo(t, GeoConfig{
		CountryDB: geoFiles.country,
		ASNDB:     geoFiles.asn,
		Static:    []StaticGeo{{CIDR: "127.0.0.0/8", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"}},
	})
	for ip, want := range map[string]Location{
		"127.0.0.1":        locKZ,
		"127.3.4.5":        locKZ,
		"::ffff:127.0.0.1": locKZ,
		"::1":              locUnknown, // not configured: IPv6 loopback is another family
	} {
		if got := g.Lookup(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Lookup(%s) = %+v, want %+v", ip, got, want)
		}
	}
}

func TestGeoUnknown(t *testing.T) {
	var nilGeo *Geo
	var zero Geo
	g := newTestGeo(t, GeoConfig{})
	for name, geo := range map[string]*Geo{"nil": nilGeo, "zero": &zero, "empty_config": g} {
		for _, ip := range []netip.Addr{{}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")} {
			if got := geo.Lookup(ip); got != locUnknown {
				t.Errorf("%s.Lookup(%v) = %+v, want ZZ/0/\"\"", name, ip, got)
			}
		}
	}
	if err := nilGeo.Reload(); err != nil {
		t.Errorf("nil Reload: %v", err)
	}
	if err := zero.Reload(); err != nil {
		t.Errorf("zero Reload: %v", err)
	}
	if err := nilGeo.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
	if got := nilGeo.Info(); got != (GeoInfo{}) {
		t.Errorf("nil Info = %+v", got)
	}
}

func TestLocationJSON(t *testing.T) {
	b, err := json.Marshal(locKZ)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"country":"KZ","asn":9198,"as_org":"JSC Kazakhtelecom"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	b, _ = json.Marshal(locUnknown)
	if want := `{"country":"ZZ","asn":0,"as_org":""}`; string(b) != want {
		t.Errorf("unknown JSON = %s, want %s", b, want)
	}
}

func TestNewGeoInvalidConfig(t *testing.T) {
	ok := StaticGeo{CIDR: "10.0.0.0/8", Country: "KZ"}
	tests := []struct {
		name string
		cfg  GeoConfig
		want []string // substrings, each naming the field
	}{
		{"bad_cidr", GeoConfig{Static: []StaticGeo{ok, staticDE("10.1.0.0/16"), {CIDR: "10.0.0.0/33", Country: "KZ"}}},
			[]string{`geo.static[2].cidr: "10.0.0.0/33" is not a CIDR prefix or address`}},
		{"cidr_with_zone", GeoConfig{Static: []StaticGeo{{CIDR: "fe80::1%eth0", Country: "KZ"}}},
			[]string{`geo.static[0].cidr:`}},
		{"empty_cidr", GeoConfig{Static: []StaticGeo{{Country: "KZ"}}},
			[]string{`geo.static[0].cidr: "" is not`}},
		{"three_letter_country", GeoConfig{Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "KAZ"}}},
			[]string{`geo.static[0].country: "KAZ" is not a two-letter ISO 3166-1 code`}},
		{"missing_country", GeoConfig{Static: []StaticGeo{{CIDR: "10.0.0.0/8"}}},
			[]string{`geo.static[0].country: ""`}},
		{"non_letter_country", GeoConfig{Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "A1"}}},
			[]string{`geo.static[0].country: "A1"`}},
		{"non_ascii_country_with_two_bytes", GeoConfig{Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "é"}}},
			[]string{`geo.static[0].country:`}},
		{"org_without_asn", GeoConfig{Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "KZ", Org: "Someone"}}},
			[]string{`geo.static[0].org: "Someone" is set without asn`}},
		{"duplicate_prefix_after_masking", GeoConfig{Static: []StaticGeo{ok, {CIDR: "10.9.9.9/8", Country: "DE"}}},
			[]string{`geo.static[1].cidr: 10.0.0.0/8 is already geo.static[0]`}},
		{"every_bad_entry_is_reported", GeoConfig{Static: []StaticGeo{{CIDR: "x", Country: "KZ"}, ok, {CIDR: "10.0.0.1", Country: "KAZ"}}},
			[]string{"geo.static[0].cidr", "geo.static[2].country"}},
		{"missing_country_db", GeoConfig{CountryDB: filepath.Join(geoFiles.dir, "absent.mmdb")},
			[]string{"geo.country_db: open ", "no such file or directory"}},
		{"missing_asn_db", GeoConfig{ASNDB: filepath.Join(geoFiles.dir, "absent.mmdb")},
			[]string{"geo.asn_db: open "}},
		{"country_db_is_not_an_mmdb", GeoConfig{CountryDB: geoFiles.notMMDB},
			[]string{"geo.country_db: " + geoFiles.notMMDB + " is not a MaxMind DB file"}},
		{"country_db_is_a_directory", GeoConfig{CountryDB: geoFiles.dir},
			[]string{"geo.country_db: "}},
		{"asn_db_given_as_country_db", GeoConfig{CountryDB: geoFiles.asn},
			[]string{`geo.country_db: ` + geoFiles.asn + ` (database_type "GeoLite2-ASN", layout autonomous_system_number) has no country data`}},
		{"country_db_given_as_asn_db", GeoConfig{ASNDB: geoFiles.city},
			[]string{`geo.asn_db: ` + geoFiles.city + ` (database_type "GeoLite2-City", layout country.iso_code) has no ASN data`}},
		{"country_only_file_for_both_roles", GeoConfig{CountryDB: geoFiles.flatCountry, ASNDB: geoFiles.flatCountry},
			[]string{"geo.asn_db: ", "has no ASN data"}},
		{"unknown_type_without_records", GeoConfig{CountryDB: geoFiles.empty},
			[]string{`geo.country_db: ` + geoFiles.empty + ` (database_type "custom"): no records to recognise the layout from`}},
		{"unknown_type_without_known_fields", GeoConfig{ASNDB: geoFiles.noKnownFields},
			[]string{`geo.asn_db: `, `no supported fields`}},
		{"ipinfo_style_string_country", GeoConfig{CountryDB: geoFiles.wrongFieldType},
			[]string{`geo.country_db: `, `unsupported record layout at 192.0.2.0/24`}},
		{"static_and_file_errors_together", GeoConfig{CountryDB: geoFiles.notMMDB, Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "KAZ"}}},
			[]string{"geo.static[0].country", "geo.country_db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGeo(tt.cfg)
			if err == nil {
				g.Close()
				t.Fatal("NewGeo accepted an invalid config")
			}
			if g != nil {
				t.Error("NewGeo returned a Geo with an error")
			}
			if !errors.Is(err, ErrGeoConfig) {
				t.Errorf("error does not wrap ErrGeoConfig: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "middleware: ") {
				t.Errorf("error lacks the package prefix: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func staticDE(cidr string) StaticGeo { return StaticGeo{CIDR: cidr, Country: "DE"} }

func TestGeoStaticCountryIsUpperCased(t *testing.T) {
	g := newTestGeo(t, GeoConfig{Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "kZ"}}})
	if got := g.Lookup(netip.MustParseAddr("10.0.0.1")).Country; got != "KZ" {
		t.Errorf("country = %q, want KZ", got)
	}
}

// A record that cannot be decoded must neither panic nor stop the lookup;
// it is counted so that an operator sees a broken database.
func TestGeoBrokenRecordIsCountedNotFatal(t *testing.T) {
	g := newTestGeo(t, GeoConfig{CountryDB: geoFiles.brokenRecord, ASNDB: geoFiles.asn})
	got := g.Lookup(netip.MustParseAddr("192.0.2.1"))
	if want := (Location{Country: UnknownCountry, ASN: 9198, ASOrg: "JSC Kazakhtelecom"}); got != want {
		t.Errorf("Lookup = %+v, want unknown country and the ASN from the healthy file %+v", got, want)
	}
	if n := g.Info().LookupErrors; n != 1 {
		t.Errorf("LookupErrors = %d, want 1", n)
	}
}

func TestGeoInfo(t *testing.T) {
	g := newTestGeo(t, GeoConfig{
		CountryDB: geoFiles.flatCountryV4,
		ASNDB:     geoFiles.asn,
		Static:    []StaticGeo{{CIDR: "10.0.0.0/8", Country: "KZ"}, {CIDR: "fd00::/8", Country: "KZ"}},
	})
	info := g.Info()
	want := GeoInfo{
		CountryDB: GeoDBInfo{Path: geoFiles.flatCountryV4, DatabaseType: "country ipv4", Layout: "country_code", IPVersion: 4, BuildTime: info.CountryDB.BuildTime},
		ASNDB:     GeoDBInfo{Path: geoFiles.asn, DatabaseType: "GeoLite2-ASN", Layout: "autonomous_system_number", IPVersion: 6, BuildTime: info.ASNDB.BuildTime},
		Static:    2,
	}
	if info != want {
		t.Errorf("Info =\n%+v\nwant\n%+v", info, want)
	}
	if got := info.CountryDB.BuildTime.Unix(); got != mmdbtest.BuildEpoch {
		t.Errorf("BuildTime = %d, want %d", got, mmdbtest.BuildEpoch)
	}
}

func TestGeoReload(t *testing.T) {
	dir := t.TempDir()
	country, asn := filepath.Join(dir, "country.mmdb"), filepath.Join(dir, "asn.mmdb")
	writeVersion := func(iso string, as mmdbtest.ASN) {
		t.Helper()
		if err := mmdbtest.WriteCountryDB(country, map[string]string{"192.0.2.0/24": iso}); err != nil {
			t.Fatal(err)
		}
		if err := mmdbtest.WriteASNDB(asn, map[string]mmdbtest.ASN{"192.0.2.0/24": as}); err != nil {
			t.Fatal(err)
		}
	}
	ip := netip.MustParseAddr("192.0.2.1")
	writeVersion("KZ", mmdbtest.ASN{Number: 9198, Org: "JSC Kazakhtelecom"})
	g := newTestGeo(t, GeoConfig{CountryDB: country, ASNDB: asn, Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "KZ"}}})
	if got := g.Lookup(ip); got != locKZ {
		t.Fatalf("before reload: %+v", got)
	}

	writeVersion("DE", mmdbtest.ASN{Number: 3320, Org: "Deutsche Telekom AG"})
	if got := g.Lookup(ip); got != locKZ {
		t.Errorf("new files must not be seen before Reload: %+v", got)
	}
	if err := g.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := g.Lookup(ip); got != locDE {
		t.Errorf("after reload: %+v, want %+v", got, locDE)
	}

	// A broken or missing file fails the whole reload and keeps both old
	// databases: the country and ASN stay from one generation.
	if err := mmdbtest.WriteCountryDB(country, map[string]string{"192.0.2.0/24": "FR"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(asn, []byte("half a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := g.Reload()
	if !errors.Is(err, ErrGeoConfig) || !strings.Contains(err.Error(), "geo.asn_db") {
		t.Errorf("Reload of a broken ASN file: err = %v, want ErrGeoConfig naming geo.asn_db", err)
	}
	if got := g.Lookup(ip); got != locDE {
		t.Errorf("after failed reload: %+v, want the previous generation %+v", got, locDE)
	}
	if err := os.Remove(country); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), "geo.country_db") {
		t.Errorf("Reload with a missing file: err = %v, want one naming geo.country_db", err)
	}
	if got := g.Lookup(ip); got != locDE {
		t.Errorf("after failed reload: %+v, want %+v", got, locDE)
	}
	if got := g.Lookup(netip.MustParseAddr("10.1.1.1")); got != (Location{Country: "KZ"}) {
		t.Errorf("static entry after reloads: %+v", got)
	}
}

func TestGeoClose(t *testing.T) {
	g, err := NewGeo(GeoConfig{CountryDB: geoFiles.country, ASNDB: geoFiles.asn, Static: []StaticGeo{{CIDR: "10.0.0.0/8", Country: "KZ"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := g.Lookup(netip.MustParseAddr("192.0.2.1")); got != locUnknown {
		t.Errorf("database lookup after Close = %+v, want unknown", got)
	}
	if got := g.Lookup(netip.MustParseAddr("10.0.0.1")); got != (Location{Country: "KZ"}) {
		t.Errorf("static lookup after Close = %+v, want KZ", got)
	}
	if err := g.Reload(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Reload after Close: err = %v, want os.ErrClosed", err)
	}
	if got := g.Info(); got.CountryDB != (GeoDBInfo{}) || got.ASNDB != (GeoDBInfo{}) {
		t.Errorf("Info after Close names databases: %+v", got)
	}
}

// Lookups racing with Reload must each see one whole generation (country
// and ASN from the same pair of files) and never a closed reader. Run with
// -race: it checks that Close never overlaps a lookup.
func TestGeoConcurrentLookupDuringReload(t *testing.T) {
	dir := t.TempDir()
	paths := [2]string{filepath.Join(dir, "a.mmdb"), filepath.Join(dir, "b.mmdb")}
	gens := [2]map[string]mmdbtype.DataType{}
	for i, loc := range []Location{locKZ, locDE} {
		gens[i] = map[string]mmdbtype.DataType{"192.0.2.0/24": mmdbtype.Map{
			"country_code":                   mmdbtype.String(loc.Country),
			"autonomous_system_number":       mmdbtype.Uint32(loc.ASN),
			"autonomous_system_organization": mmdbtype.String(loc.ASOrg),
		}}
	}
	active := filepath.Join(dir, "active.mmdb")
	for i := range paths {
		if err := mmdbtest.WriteRecords(paths[i], mmdbtest.Options{}, gens[i]); err != nil {
			t.Fatal(err)
		}
	}
	link := func(i int) {
		t.Helper()
		// Replace by rename, as the docs ask.
		tmp := active + ".tmp"
		_ = os.Remove(tmp)
		if err := os.Link(paths[i], tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, active); err != nil {
			t.Fatal(err)
		}
	}
	link(0)
	g := newTestGeo(t, GeoConfig{CountryDB: active, ASNDB: active})

	const readers, reloads = 4, 50
	ip := netip.MustParseAddr("192.0.2.1")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	bad := make(chan Location, readers)
	seen := make([]map[Location]int, readers)
	for r := range readers {
		seen[r] = map[Location]int{}
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				loc := g.Lookup(ip)
				seen[r][loc]++
				if loc != locKZ && loc != locDE {
					select {
					case bad <- loc:
					default:
					}
					return
				}
			}
		})
	}
	for i := range reloads {
		link((i + 1) % 2)
		if err := g.Reload(); err != nil {
			t.Errorf("Reload %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	close(bad)
	for loc := range bad {
		t.Errorf("a lookup during Reload returned %+v: neither generation", loc)
	}
	total := 0
	for _, s := range seen {
		for _, n := range s {
			total += n
		}
	}
	if total == 0 {
		t.Error("no lookup ran concurrently with the reloads")
	}
	if got, want := g.Lookup(ip), []Location{locKZ, locDE}[reloads%2]; got != want {
		t.Errorf("after %d reloads: %+v, want %+v", reloads, got, want)
	}
	if n := g.Info().LookupErrors; n != 0 {
		t.Errorf("LookupErrors = %d, want 0", n)
	}
}

func TestNormalizeCountry(t *testing.T) {
	tests := []struct {
		name  string
		codes [3]string // country.iso_code, registered_country.iso_code, country_code
		want  string
	}{
		{"upper_case_passes", [3]string{"KZ"}, "KZ"},
		{"lower_case_upper_cased", [3]string{"kz"}, "KZ"},
		{"registered_country_when_country_is_absent", [3]string{"", "DE", "FR"}, "DE"},
		{"flat_country_code", [3]string{"", "", "FR"}, "FR"},
		{"invalid_first_is_unknown_not_skipped", [3]string{"XXX", "DE"}, UnknownCountry},
		{"digits_are_not_a_country", [3]string{"A1"}, UnknownCountry},
		{"none", [3]string{}, UnknownCountry},
		{"non_ascii_two_bytes", [3]string{"é"}, UnknownCountry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalizeCountry(tt.codes[0], tt.codes[1], tt.codes[2]); got != tt.want {
				t.Errorf("normalizeCountry(%q) = %q, want %q", tt.codes, got, tt.want)
			}
		})
	}
}
