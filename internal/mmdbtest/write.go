package mmdbtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// BuildEpoch is the build time written into every database whose
// [Options.BuildEpoch] is zero: 2026-11-22T00:00:00Z.
const BuildEpoch int64 = 1795305600

// ASN is one autonomous system entry.
type ASN struct {
	// Number is the AS number; 0 leaves autonomous_system_number out of
	// the record, as GeoLite2 does for unannounced space.
	Number uint32
	// Org is the AS organization; "" leaves the field out.
	Org string
}

// CountryLayout selects how [WriteCountry] shapes a country record.
type CountryLayout int

const (
	// GeoLite2Country writes database_type "GeoLite2-Country" and records
	// {country: {iso_code, names}, registered_country: {iso_code, names},
	// continent: {code}}.
	GeoLite2Country CountryLayout = iota
	// GeoLite2City writes database_type "GeoLite2-City" and the country
	// record plus city names and a location, which a country reader must
	// skip.
	GeoLite2City
	// DBIPCountryLite writes database_type "DBIP-Country-Lite" and records
	// {country: {iso_code, names, is_in_european_union}, continent: {code}}
	// without registered_country.
	DBIPCountryLite
	// FlatCountry writes the ip-location-db layout {country_code} into an
	// IPv6 database (which also holds IPv4 networks), database_type
	// "country ipv6".
	FlatCountry
	// FlatCountryIPv4 writes the ip-location-db layout {country_code} into
	// an IPv4-only database, database_type "country ipv4".
	FlatCountryIPv4
)

// ASNLayout selects how [WriteASN] labels an ASN database. All ASN
// layouts share the record {autonomous_system_number,
// autonomous_system_organization}.
type ASNLayout int

const (
	// GeoLite2ASN writes database_type "GeoLite2-ASN".
	GeoLite2ASN ASNLayout = iota
	// DBIPASNLite writes database_type "DBIP-ASN-Lite (compat=GeoLite2-ASN)".
	DBIPASNLite
	// FlatASN writes an ip-location-db IPv6 database, database_type
	// "asn ipv6".
	FlatASN
	// FlatASNIPv4 writes an ip-location-db IPv4-only database,
	// database_type "asn ipv4".
	FlatASNIPv4
)

// Options set a database's metadata for [WriteRecords].
type Options struct {
	// DatabaseType is the metadata database_type. Default "" (a database
	// whose layout a reader must detect from its records).
	DatabaseType string
	// IPVersion is 4 for an IPv4-only database or 6 for one that holds
	// both families. Default 0 means 6.
	IPVersion int
	// DisableIPv4Aliasing leaves ::ffff:0:0/96 and the other IPv4 aliases
	// out of an IPv6 database, as the ip-location-db converter does.
	// Default false (aliases present, as in MaxMind's files).
	DisableIPv4Aliasing bool
	// BuildEpoch is the build time in Unix seconds. Default 0 means
	// [BuildEpoch].
	BuildEpoch int64
}

// WriteCountryDB writes a GeoLite2-Country database mapping each CIDR to
// an ISO 3166-1 alpha-2 code.
func WriteCountryDB(path string, entries map[string]string) error {
	return WriteCountry(path, GeoLite2Country, entries)
}

// WriteFlatCountryDB writes an ip-location-db style database
// ({country_code}, IPv6 with IPv4 networks) mapping each CIDR to a code.
func WriteFlatCountryDB(path string, entries map[string]string) error {
	return WriteCountry(path, FlatCountry, entries)
}

// WriteASNDB writes a GeoLite2-ASN database mapping each CIDR to an AS.
func WriteASNDB(path string, entries map[string]ASN) error {
	return WriteASN(path, GeoLite2ASN, entries)
}

// WriteCountry writes a country database in the given layout. Codes are
// written exactly as given, so tests can also write malformed ones.
func WriteCountry(path string, layout CountryLayout, entries map[string]string) error {
	if layout < GeoLite2Country || layout > FlatCountryIPv4 {
		return fmt.Errorf("mmdbtest: unknown country layout %d", layout)
	}
	var opts Options
	records := make(map[string]mmdbtype.DataType, len(entries))
	for cidr, iso := range entries {
		code := mmdbtype.String(iso)
		names := mmdbtype.Map{"en": mmdbtype.String("Country " + iso)}
		country := mmdbtype.Map{"iso_code": code, "names": names}
		switch layout {
		case GeoLite2Country, GeoLite2City:
			rec := mmdbtype.Map{
				"continent":          mmdbtype.Map{"code": mmdbtype.String("AS")},
				"country":            country,
				"registered_country": country,
			}
			if layout == GeoLite2City {
				rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Test City")}}
				rec["location"] = mmdbtype.Map{
					"latitude":        mmdbtype.Float64(51.17),
					"longitude":       mmdbtype.Float64(71.45),
					"accuracy_radius": mmdbtype.Uint16(100),
				}
			}
			records[cidr] = rec
		case DBIPCountryLite:
			country["is_in_european_union"] = mmdbtype.Bool(false)
			records[cidr] = mmdbtype.Map{
				"continent": mmdbtype.Map{"code": mmdbtype.String("AS")},
				"country":   country,
			}
		case FlatCountry, FlatCountryIPv4:
			records[cidr] = mmdbtype.Map{"country_code": code}
		default:
			return fmt.Errorf("mmdbtest: unknown country layout %d", layout)
		}
	}
	switch layout {
	case GeoLite2Country:
		opts.DatabaseType = "GeoLite2-Country"
	case GeoLite2City:
		opts.DatabaseType = "GeoLite2-City"
	case DBIPCountryLite:
		opts.DatabaseType = "DBIP-Country-Lite"
	case FlatCountry:
		opts = Options{DatabaseType: "country ipv6", IPVersion: 6, DisableIPv4Aliasing: true}
	case FlatCountryIPv4:
		opts = Options{DatabaseType: "country ipv4", IPVersion: 4}
	}
	return WriteRecords(path, opts, records)
}

// WriteASN writes an ASN database in the given layout.
func WriteASN(path string, layout ASNLayout, entries map[string]ASN) error {
	var opts Options
	switch layout {
	case GeoLite2ASN:
		opts.DatabaseType = "GeoLite2-ASN"
	case DBIPASNLite:
		opts.DatabaseType = "DBIP-ASN-Lite (compat=GeoLite2-ASN)"
	case FlatASN:
		opts = Options{DatabaseType: "asn ipv6", IPVersion: 6, DisableIPv4Aliasing: true}
	case FlatASNIPv4:
		opts = Options{DatabaseType: "asn ipv4", IPVersion: 4}
	default:
		return fmt.Errorf("mmdbtest: unknown ASN layout %d", layout)
	}
	records := make(map[string]mmdbtype.DataType, len(entries))
	for cidr, as := range entries {
		rec := mmdbtype.Map{}
		if as.Number != 0 {
			rec["autonomous_system_number"] = mmdbtype.Uint32(as.Number)
		}
		if as.Org != "" {
			rec["autonomous_system_organization"] = mmdbtype.String(as.Org)
		}
		records[cidr] = rec
	}
	return WriteRecords(path, opts, records)
}

// WriteRecords writes each record under its CIDR. Networks are inserted
// from the least to the most specific, so a more specific entry overrides
// the part of a broader one it covers, whatever the map order.
func WriteRecords(path string, opts Options, records map[string]mmdbtype.DataType) error {
	if opts.IPVersion == 0 {
		opts.IPVersion = 6
	}
	if opts.BuildEpoch == 0 {
		opts.BuildEpoch = BuildEpoch
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		BuildEpoch:              opts.BuildEpoch,
		DatabaseType:            opts.DatabaseType,
		Description:             map[string]string{"en": "mitmwatch test database"},
		DisableIPv4Aliasing:     opts.DisableIPv4Aliasing,
		IncludeReservedNetworks: true,
		IPVersion:               opts.IPVersion,
		Languages:               []string{"en"},
		RecordSize:              24,
	})
	if err != nil {
		return fmt.Errorf("mmdbtest: new tree: %w", err)
	}

	type entry struct {
		net  *net.IPNet
		bits int
		cidr string
	}
	list := make([]entry, 0, len(records))
	for cidr := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return fmt.Errorf("mmdbtest: %w", err)
		}
		// mmdbwriter would store an IPv6 network in an IPv4 tree under
		// its first 32 bits; refuse, so a test never loses an entry.
		if bits, total := n.Mask.Size(); opts.IPVersion == 4 && total != 32 {
			return fmt.Errorf("mmdbtest: insert %s: IPv6 network in an IPv4-only database (%d bits)", cidr, bits)
		}
		bits, _ := n.Mask.Size()
		list = append(list, entry{net: n, bits: bits, cidr: cidr})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].bits != list[j].bits {
			return list[i].bits < list[j].bits
		}
		return list[i].cidr < list[j].cidr
	})
	for _, e := range list {
		if err := tree.Insert(e.net, records[e.cidr]); err != nil {
			return fmt.Errorf("mmdbtest: insert %s: %w", e.cidr, err)
		}
	}
	return writeAtomic(path, tree)
}

// writeAtomic writes to a temporary file beside path and renames it into
// place, so that a concurrent reader never sees a partial database.
func writeAtomic(path string, tree *mmdbwriter.Tree) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".mmdbtest-*")
	if err != nil {
		return fmt.Errorf("mmdbtest: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := tree.WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("mmdbtest: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mmdbtest: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("mmdbtest: %w", err)
	}
	return nil
}
