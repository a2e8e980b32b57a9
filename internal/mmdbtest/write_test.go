package mmdbtest

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
)

// record is everything any layout writes that the tests look at.
type record struct {
	Country struct {
		ISO string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Registered struct {
		ISO string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	CountryCode string `maxminddb:"country_code"`
	ASN         uint32 `maxminddb:"autonomous_system_number"`
	Org         string `maxminddb:"autonomous_system_organization"`
}

func open(t *testing.T, path string) *maxminddb.Reader {
	t.Helper()
	r, err := maxminddb.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func lookup(t *testing.T, r *maxminddb.Reader, ip string) (record, bool) {
	t.Helper()
	var rec record
	res := r.Lookup(netip.MustParseAddr(ip))
	if err := res.Decode(&rec); err != nil {
		t.Fatalf("decode %s: %v", ip, err)
	}
	return rec, res.Found()
}

func TestWriteCountryLayouts(t *testing.T) {
	entries := map[string]string{"192.0.2.0/24": "KZ", "2001:db8::/32": "DE"}
	tests := []struct {
		name       string
		layout     CountryLayout
		dbType     string
		ipVersion  uint
		nested     bool // country.iso_code rather than country_code
		registered bool
		city       bool
		v6         bool
	}{
		{name: "geolite2_country_is_nested_with_registered_country", layout: GeoLite2Country, dbType: "GeoLite2-Country", ipVersion: 6, nested: true, registered: true, v6: true},
		{name: "geolite2_city_adds_city_names", layout: GeoLite2City, dbType: "GeoLite2-City", ipVersion: 6, nested: true, registered: true, city: true, v6: true},
		{name: "dbip_lite_is_nested_without_registered_country", layout: DBIPCountryLite, dbType: "DBIP-Country-Lite", ipVersion: 6, nested: true, v6: true},
		{name: "flat_country_code_in_ipv6_database", layout: FlatCountry, dbType: "country ipv6", ipVersion: 6, v6: true},
		{name: "flat_country_code_in_ipv4_only_database", layout: FlatCountryIPv4, dbType: "country ipv4", ipVersion: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := entries
			if !tt.v6 {
				in = map[string]string{"192.0.2.0/24": "KZ"}
			}
			path := filepath.Join(t.TempDir(), "db.mmdb")
			if err := WriteCountry(path, tt.layout, in); err != nil {
				t.Fatal(err)
			}
			r := open(t, path)
			if r.Metadata.DatabaseType != tt.dbType || r.Metadata.IPVersion != tt.ipVersion {
				t.Errorf("metadata = %q ipv%d, want %q ipv%d", r.Metadata.DatabaseType, r.Metadata.IPVersion, tt.dbType, tt.ipVersion)
			}
			if r.Metadata.BuildEpoch != uint(BuildEpoch) {
				t.Errorf("build epoch = %d, want %d", r.Metadata.BuildEpoch, BuildEpoch)
			}
			want := map[string]string{"192.0.2.77": "KZ"}
			if tt.v6 {
				want["2001:db8:1::1"] = "DE"
			}
			for ip, iso := range want {
				rec, found := lookup(t, r, ip)
				if !found {
					t.Fatalf("%s not found", ip)
				}
				got := rec.CountryCode
				if tt.nested {
					got = rec.Country.ISO
					if rec.CountryCode != "" {
						t.Errorf("%s: nested layout also wrote country_code %q", ip, rec.CountryCode)
					}
				} else if rec.Country.ISO != "" {
					t.Errorf("%s: flat layout also wrote country.iso_code %q", ip, rec.Country.ISO)
				}
				if got != iso {
					t.Errorf("%s: country = %q, want %q", ip, got, iso)
				}
				if gotReg := rec.Registered.ISO != ""; gotReg != tt.registered {
					t.Errorf("%s: registered_country present = %v, want %v", ip, gotReg, tt.registered)
				}
				if gotCity := len(rec.City.Names) > 0; gotCity != tt.city {
					t.Errorf("%s: city present = %v, want %v", ip, gotCity, tt.city)
				}
			}
			if _, found := lookup(t, r, "198.51.100.1"); found {
				t.Error("198.51.100.1 found in a database without it")
			}
		})
	}
}

func TestWriteASNLayouts(t *testing.T) {
	tests := []struct {
		name      string
		layout    ASNLayout
		dbType    string
		ipVersion uint
	}{
		{name: "geolite2_asn", layout: GeoLite2ASN, dbType: "GeoLite2-ASN", ipVersion: 6},
		{name: "dbip_asn_lite_compat_name", layout: DBIPASNLite, dbType: "DBIP-ASN-Lite (compat=GeoLite2-ASN)", ipVersion: 6},
		{name: "flat_asn_ipv6", layout: FlatASN, dbType: "asn ipv6", ipVersion: 6},
		{name: "flat_asn_ipv4_only", layout: FlatASNIPv4, dbType: "asn ipv4", ipVersion: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "asn.mmdb")
			err := WriteASN(path, tt.layout, map[string]ASN{
				"192.0.2.0/24":    {Number: 9198, Org: "JSC Kazakhtelecom"},
				"198.51.100.0/24": {Org: "no number"},
			})
			if err != nil {
				t.Fatal(err)
			}
			r := open(t, path)
			if r.Metadata.DatabaseType != tt.dbType || r.Metadata.IPVersion != tt.ipVersion {
				t.Errorf("metadata = %q ipv%d, want %q ipv%d", r.Metadata.DatabaseType, r.Metadata.IPVersion, tt.dbType, tt.ipVersion)
			}
			rec, found := lookup(t, r, "192.0.2.1")
			if !found || rec.ASN != 9198 || rec.Org != "JSC Kazakhtelecom" {
				t.Errorf("192.0.2.1 = %+v (found %v), want AS9198 JSC Kazakhtelecom", rec, found)
			}
			rec, _ = lookup(t, r, "198.51.100.1")
			if rec.ASN != 0 || rec.Org != "no number" {
				t.Errorf("zero number must be left out: got %+v", rec)
			}
		})
	}
}

// The ip-location-db converter disables IPv4 aliasing, so an IPv4 client
// is found under its plain address only; a reader must unmap first.
func TestFlatLayoutHasNoIPv4MappedAlias(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flat.mmdb")
	if err := WriteFlatCountryDB(path, map[string]string{"192.0.2.0/24": "KZ"}); err != nil {
		t.Fatal(err)
	}
	r := open(t, path)
	if _, found := lookup(t, r, "192.0.2.1"); !found {
		t.Error("plain IPv4 address not found")
	}
	if _, found := lookup(t, r, "::ffff:192.0.2.1"); found {
		t.Error("IPv4-mapped address found although aliasing is disabled")
	}

	gl := filepath.Join(t.TempDir(), "gl.mmdb")
	if err := WriteCountryDB(gl, map[string]string{"192.0.2.0/24": "KZ"}); err != nil {
		t.Fatal(err)
	}
	if _, found := lookup(t, open(t, gl), "::ffff:192.0.2.1"); !found {
		t.Error("GeoLite2 layout must keep the ::ffff:0:0/96 alias, as MaxMind's files do")
	}
}

func TestWriteRecordsMoreSpecificWinsWhateverTheOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	err := WriteRecords(path, Options{DatabaseType: "custom"}, map[string]mmdbtype.DataType{
		"192.0.2.128/25": mmdbtype.Map{"country_code": mmdbtype.String("KZ")},
		"192.0.2.0/24":   mmdbtype.Map{"country_code": mmdbtype.String("DE")},
		"192.0.2.200/32": mmdbtype.Map{"country_code": mmdbtype.String("FR")},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := open(t, path)
	for ip, want := range map[string]string{"192.0.2.1": "DE", "192.0.2.129": "KZ", "192.0.2.200": "FR"} {
		if rec, _ := lookup(t, r, ip); rec.CountryCode != want {
			t.Errorf("%s = %q, want %q", ip, rec.CountryCode, want)
		}
	}
}

func TestWriteReservedAndLoopbackNetworks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	err := WriteCountryDB(path, map[string]string{"127.0.0.0/8": "KZ", "10.0.0.0/8": "KZ", "::1/128": "KZ"})
	if err != nil {
		t.Fatalf("reserved networks must be writable for tests: %v", err)
	}
	r := open(t, path)
	for _, ip := range []string{"127.0.0.1", "10.1.2.3", "::1"} {
		if rec, _ := lookup(t, r, ip); rec.Country.ISO != "KZ" {
			t.Errorf("%s = %q, want KZ", ip, rec.Country.ISO)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		write func() error
		want  string
	}{
		{"bad_cidr", func() error {
			return WriteCountryDB(filepath.Join(dir, "a.mmdb"), map[string]string{"192.0.2.0/33": "KZ"})
		}, "invalid CIDR"},
		{"unknown_country_layout", func() error { return WriteCountry(filepath.Join(dir, "b.mmdb"), CountryLayout(99), nil) }, "unknown country layout"},
		{"unknown_asn_layout", func() error { return WriteASN(filepath.Join(dir, "c.mmdb"), ASNLayout(99), nil) }, "unknown ASN layout"},
		{"missing_directory", func() error { return WriteCountryDB(filepath.Join(dir, "no", "d.mmdb"), nil) }, "no such file"},
		{"ipv6_network_in_ipv4_database", func() error {
			return WriteCountry(filepath.Join(dir, "e.mmdb"), FlatCountryIPv4, map[string]string{"2001:db8::/32": "DE"})
		}, "insert 2001:db8::/32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mmdbtest: ") {
				t.Fatalf("err = %v, want mmdbtest: …%s…", err, tt.want)
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".mmdbtest-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db.mmdb")
	if err := WriteCountryDB(path, map[string]string{"192.0.2.0/24": "KZ"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCountryDB(path, map[string]string{"192.0.2.0/24": "DE"}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("rewrite reused the inode: a reader holding the old file would see it change")
	}
	if rec, _ := lookup(t, open(t, path), "192.0.2.1"); rec.Country.ISO != "DE" {
		t.Errorf("after rewrite = %q, want DE", rec.Country.ISO)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the database", len(entries))
	}
}
