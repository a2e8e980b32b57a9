package mmdbtest_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/mitmwatch/mitmwatch/internal/mmdbtest"
	"github.com/oschwald/maxminddb-golang/v2"
)

// A test writes the networks it needs and reads them back like a
// GeoLite2-ASN file.
func ExampleWriteASNDB() {
	dir, err := os.MkdirTemp("", "mmdbtest-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	path := filepath.Join(dir, "asn.mmdb")
	err = mmdbtest.WriteASNDB(path, map[string]mmdbtest.ASN{
		"192.0.2.0/24": {Number: 9198, Org: "JSC Kazakhtelecom"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	db, err := maxminddb.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	var rec struct {
		Number uint32 `maxminddb:"autonomous_system_number"`
		Org    string `maxminddb:"autonomous_system_organization"`
	}
	if err := db.Lookup(netip.MustParseAddr("192.0.2.10")).Decode(&rec); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(db.Metadata.DatabaseType, rec.Number, rec.Org)
	// Output: GeoLite2-ASN 9198 JSC Kazakhtelecom
}
