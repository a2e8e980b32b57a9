package middleware_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/mitmwatch/mitmwatch/internal/mmdbtest"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// A Geo answers from static entries first (here, the demo's loopback
// placed in Kazakhstan), then from the databases; anything else is
// ZZ / AS 0.
func ExampleGeo_Lookup() {
	// Real deployments point at GeoLite2, DB-IP Lite or ip-location-db
	// files; the example writes two tiny ones.
	dir, err := os.MkdirTemp("", "geo-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	countryDB, asnDB := filepath.Join(dir, "country.mmdb"), filepath.Join(dir, "asn.mmdb")
	if err := mmdbtest.WriteCountryDB(countryDB, map[string]string{"198.51.100.0/24": "DE"}); err != nil {
		fmt.Println(err)
		return
	}
	if err := mmdbtest.WriteASNDB(asnDB, map[string]mmdbtest.ASN{"198.51.100.0/24": {Number: 3320, Org: "Deutsche Telekom AG"}}); err != nil {
		fmt.Println(err)
		return
	}

	geo, err := middleware.NewGeo(middleware.GeoConfig{
		CountryDB: countryDB,
		ASNDB:     asnDB,
		Static: []middleware.StaticGeo{
			{CIDR: "127.0.0.0/8", Country: "kz", ASN: 9198, Org: "JSC Kazakhtelecom"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer geo.Close()

	for _, ip := range []string{"127.0.0.1", "::ffff:198.51.100.7", "203.0.113.9"} {
		loc := geo.Lookup(netip.MustParseAddr(ip))
		fmt.Printf("%-20s %s AS%d %q\n", ip, loc.Country, loc.ASN, loc.ASOrg)
	}
	// Output:
	// 127.0.0.1            KZ AS9198 "JSC Kazakhtelecom"
	// ::ffff:198.51.100.7  DE AS3320 "Deutsche Telekom AG"
	// 203.0.113.9          ZZ AS0 ""
}

// Invalid entries are all reported at once, each naming its field.
func ExampleNewGeo_invalid() {
	_, err := middleware.NewGeo(middleware.GeoConfig{
		Static: []middleware.StaticGeo{
			{CIDR: "10.0.0.0/8", Country: "KZ"},
			{CIDR: "10.0.0.0/33", Country: "KAZ"},
		},
	})
	fmt.Println(err)
	// Output:
	// middleware: invalid geo config: geo.static[1].cidr: "10.0.0.0/33" is not a CIDR prefix or address
	// middleware: invalid geo config: geo.static[1].country: "KAZ" is not a two-letter ISO 3166-1 code
}
