package middleware

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// UnknownCountry is the country of a client that no static entry and no
// database places. "ZZ" is a user-assigned ISO 3166-1 alpha-2 code that
// no country will receive, commonly used for "unknown".
const UnknownCountry = "ZZ"

// ErrGeoConfig is wrapped by every error [NewGeo] and [Geo.Reload] return
// for an invalid static entry or an unusable database file.
var ErrGeoConfig = errors.New("middleware: invalid geo config")

// geoProbeRecords is how many records of a database with an unrecognised
// database_type are decoded to find out its layout.
const geoProbeRecords = 256

// GeoConfig says where a client's country and autonomous system come from.
// The zero value is valid: no databases, no static entries, every client
// is [UnknownCountry] / AS 0.
type GeoConfig struct {
	// CountryDB is the path to a MaxMind-format database with country
	// data: GeoLite2/GeoIP2 Country or City, DB-IP Lite country or city,
	// or a flat ip-location-db build (country_code). Default "": none.
	CountryDB string `yaml:"country_db"`
	// ASNDB is the path to a MaxMind-format database with ASN data:
	// GeoLite2-ASN, DB-IP ASN Lite, or an ip-location-db ASN build. It
	// may be the same file as CountryDB if that file carries both.
	// Default "": none.
	ASNDB string `yaml:"asn_db"`
	// Static maps address ranges to a fixed location; it is checked
	// before the databases and the most specific prefix wins. Use it for
	// private ranges (which no public database places) and for demos.
	// Default: none.
	Static []StaticGeo `yaml:"static"`
}

// StaticGeo is one static location entry.
type StaticGeo struct {
	// CIDR is the range, e.g. "10.0.0.0/8" or "2001:db8::/32". A bare
	// address means that one host. IPv4-mapped IPv6 prefixes
	// (::ffff:10.0.0.0/104) are treated as the IPv4 prefix. Required.
	CIDR string `yaml:"cidr"`
	// Country is an ISO 3166-1 alpha-2 code, any case (stored upper
	// case). Required; write "ZZ" for an explicitly unknown country.
	Country string `yaml:"country"`
	// ASN is the autonomous system number. Default 0: unknown.
	ASN uint32 `yaml:"asn"`
	// Org is the AS organization. Default "": unknown. Setting it
	// without ASN is an error.
	Org string `yaml:"org"`
}

// Location is where a client's address is attributed: its country and
// autonomous system. Unknown parts are "ZZ", 0 and "".
type Location struct {
	// Country is an upper-case ISO 3166-1 alpha-2 code or [UnknownCountry].
	Country string `json:"country"`
	// ASN is the autonomous system number, 0 if unknown.
	ASN uint32 `json:"asn"`
	// ASOrg is the AS organization, "" if unknown (always "" when ASN is 0).
	ASOrg string `json:"as_org"`
}

// Geo attributes client addresses to a country and autonomous system from
// static entries and MaxMind-format databases. Lookups are safe for
// concurrent use, also while [Geo.Reload] swaps the databases. A nil or
// zero Geo attributes every address to the unknown location.
//
// # Database layouts
//
// A database's layout is recognised by its metadata database_type where
// that names a known product, and otherwise by decoding up to 256 of its
// records. Known types (the list oschwald/geoip2-golang's reader.go
// getDBType uses, at commit 347ca45):
//
//   - country.iso_code, falling back to registered_country.iso_code:
//     GeoLite2-Country, GeoIP2-Country, GeoLite2-City, GeoIP2-City (and
//     its regional editions), GeoIP2-Precision-City, GeoIP2-Enterprise,
//     DBIP-Country-Lite, DBIP-City-Lite, DBIP-Country and
//     "DBIP-Location (compat=City)";
//   - autonomous_system_number and autonomous_system_organization:
//     GeoLite2-ASN, "DBIP-ASN-Lite (compat=GeoLite2-ASN)", GeoIP2-ISP and
//     GeoIP2-Precision-ISP.
//
// The freely licensed sapics/ip-location-db builds (including its iptoasn
// and asn-country files) are flat: a top-level country_code string in the
// country builds and the two autonomous_system_* fields in the ASN builds
// (each build's README.md, "MMDB Format"; tools/conf/iptoasn-asn.yml). The
// converter they are made with (ip-location-to-mmdb) writes a free-form
// database_type such as "country ipv4", so these files are recognised from
// their records. Its "-ipv4" files are IPv4-only databases: IPv6 clients
// stay unknown with them, so prefer the combined IPv4+IPv6 file where the
// project publishes one.
//
// # Files and reloading
//
// Files are read into memory rather than memory-mapped, which costs their
// size in heap, and twice that during a reload (prefer a Country file to
// a City file: the city data is never used). A memory-mapped database
// that is rewritten in place (cp over it instead of a rename) can crash
// the process with SIGBUS on the next lookup; a copy in memory cannot,
// and a truncated file fails to open on [Geo.Reload], which then keeps
// the databases it has.
type Geo struct {
	cfg    GeoConfig
	static staticGeoTable

	// reloadMu serialises Reload and Close, so files are opened and
	// swapped in one order.
	reloadMu sync.Mutex
	// mu is held for reading for the whole of a database lookup, so that
	// Reload and Close can swap dbs and then close the old readers only
	// after every lookup that might still use them has finished: the
	// reader's Close must not run concurrently with its lookups.
	mu     sync.RWMutex
	dbs    *geoDBs
	closed bool

	lookupErrors atomic.Uint64
	// records holds *geoRecord for Lookup.
	records sync.Pool
}

// geoDBs is one generation of opened databases.
type geoDBs struct {
	country *geoDB
	asn     *geoDB // may be the same *geoDB as country
}

// geoDB is one opened database file.
type geoDB struct {
	path   string
	reader *maxminddb.Reader
	caps   geoCaps
}

// geoCaps says which fields a database carries.
type geoCaps uint8

const (
	geoNestedCountry geoCaps = 1 << iota // country.iso_code, registered_country.iso_code
	geoFlatCountry                       // country_code
	geoASN                               // autonomous_system_number, autonomous_system_organization

	geoCountry = geoNestedCountry | geoFlatCountry
)

// String names the layout, for errors and [GeoDBInfo.Layout].
func (c geoCaps) String() string {
	var s string
	add := func(part string) {
		if s != "" {
			s += "+"
		}
		s += part
	}
	if c&geoNestedCountry != 0 {
		add("country.iso_code")
	}
	if c&geoFlatCountry != 0 {
		add("country_code")
	}
	if c&geoASN != 0 {
		add("autonomous_system_number")
	}
	if s == "" {
		return "none"
	}
	return s
}

// knownGeoLayout returns the layout of a database_type it knows.
func knownGeoLayout(databaseType string) (geoCaps, bool) {
	switch databaseType {
	case "GeoLite2-Country", "GeoIP2-Country",
		"GeoLite2-City", "GeoIP2-City", "GeoIP2-Precision-City",
		"GeoIP2-City-Africa", "GeoIP2-City-Asia-Pacific", "GeoIP2-City-Europe",
		"GeoIP2-City-North-America", "GeoIP2-City-South-America",
		"GeoIP2-Enterprise",
		"DBIP-Country-Lite", "DBIP-City-Lite", "DBIP-Country", "DBIP-Location (compat=City)":
		return geoNestedCountry, true
	case "GeoLite2-ASN", "DBIP-ASN-Lite", "DBIP-ASN-Lite (compat=GeoLite2-ASN)",
		"GeoIP2-ISP", "GeoIP2-Precision-ISP":
		return geoASN, true
	}
	return 0, false
}

// geoRecord is decoded from every layout: fields a record lacks stay
// empty, and fields it has that are not listed here are skipped.
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	CountryCode string `maxminddb:"country_code"`
	ASN         uint32 `maxminddb:"autonomous_system_number"`
	ASOrg       string `maxminddb:"autonomous_system_organization"`
}

// geoProbe is geoRecord with pointers, to tell absent from empty while
// detecting a layout.
type geoProbe struct {
	Country *struct {
		ISOCode *string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry *struct {
		ISOCode *string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	CountryCode *string `maxminddb:"country_code"`
	ASN         *uint32 `maxminddb:"autonomous_system_number"`
	ASOrg       *string `maxminddb:"autonomous_system_organization"`
}

// NewGeo validates cfg and opens its databases. Every problem found is
// reported, each naming its field (geo.static[2].cidr, geo.asn_db) and
// wrapping [ErrGeoConfig].
func NewGeo(cfg GeoConfig) (*Geo, error) {
	static, err := newStaticGeoTable(cfg.Static)
	dbs, dbErr := openGeoDBs(cfg)
	if err = errors.Join(err, dbErr); err != nil {
		_ = dbs.close()
		return nil, err
	}
	g := &Geo{cfg: cfg, static: static, dbs: dbs}
	g.cfg.Static = slices.Clone(cfg.Static)
	return g, nil
}

// Lookup returns the location of ip: the most specific static entry that
// contains it, else what the databases say, else the unknown location.
// IPv4-mapped IPv6 addresses are looked up as IPv4 and zones are ignored.
// It never fails: a database record that cannot be decoded counts in
// [GeoInfo.LookupErrors] and leaves its part of the location unknown.
func (g *Geo) Lookup(ip netip.Addr) Location {
	loc := Location{Country: UnknownCountry}
	if g == nil || !ip.IsValid() {
		return loc
	}
	ip = ip.Unmap().WithZone("")
	if s, ok := g.static.lookup(ip); ok {
		return s
	}

	g.mu.RLock()
	defer g.mu.RUnlock()
	dbs := g.dbs
	if dbs == nil {
		return loc
	}
	// The record escapes (Decode takes an interface), so it comes from a
	// pool to keep a lookup free of allocations.
	rec, _ := g.records.Get().(*geoRecord)
	if rec == nil {
		rec = new(geoRecord)
	}
	defer g.records.Put(rec)
	*rec = geoRecord{}
	if dbs.country != nil && g.decode(dbs.country, ip, rec) {
		loc.Country = normalizeCountry(rec.Country.ISOCode, rec.RegisteredCountry.ISOCode, rec.CountryCode)
	}
	if dbs.asn != nil {
		if dbs.asn != dbs.country {
			*rec = geoRecord{}
			if !g.decode(dbs.asn, ip, rec) {
				return loc
			}
		}
		if rec.ASN != 0 {
			loc.ASN, loc.ASOrg = rec.ASN, rec.ASOrg
		}
	}
	return loc
}

// decode looks ip up in db. It reports false when the record is missing
// or broken; broken records are counted.
func (g *Geo) decode(db *geoDB, ip netip.Addr, rec *geoRecord) bool {
	// An IPv4-only database answers an IPv6 lookup with an error built
	// by fmt; skip it, since the answer is "not found" anyway.
	if ip.Is6() && db.reader.Metadata.IPVersion == 4 {
		return false
	}
	res := db.reader.Lookup(ip)
	if !res.Found() {
		if res.Err() != nil {
			g.lookupErrors.Add(1)
		}
		return false
	}
	if err := res.Decode(rec); err != nil {
		g.lookupErrors.Add(1)
		*rec = geoRecord{}
		return false
	}
	return true
}

// Reload re-opens the configured database files and, if all of them open
// and have a supported layout, swaps them in atomically; otherwise it
// returns the error and keeps the databases it had. The old readers are
// closed as soon as the lookups running at the swap have finished. Static
// entries are not re-read. Replace database files by renaming a new file
// over the old one, so that Reload never reads a file that is still
// being written.
func (g *Geo) Reload() error {
	if g == nil {
		return nil
	}
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	if g.closed {
		return fmt.Errorf("middleware: geo reload after close: %w", os.ErrClosed)
	}
	dbs, err := openGeoDBs(g.cfg)
	if err != nil {
		_ = dbs.close()
		return err
	}
	g.mu.Lock()
	old := g.dbs
	g.dbs = dbs
	g.mu.Unlock()
	return old.close()
}

// Close closes the databases. Lookups after Close still answer from the
// static entries; everything else is unknown. Close is idempotent.
func (g *Geo) Close() error {
	if g == nil {
		return nil
	}
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.mu.Lock()
	old := g.dbs
	g.dbs = nil
	g.closed = true
	g.mu.Unlock()
	return old.close()
}

// GeoInfo describes a [Geo]'s current databases, for logs and health
// endpoints.
type GeoInfo struct {
	// CountryDB and ASNDB describe the open databases (zero if none).
	CountryDB, ASNDB GeoDBInfo
	// Static is the number of static entries.
	Static int
	// LookupErrors counts database records that could not be decoded
	// since the Geo was created. It stays 0 with a healthy database.
	LookupErrors uint64
}

// GeoDBInfo describes one open database file.
type GeoDBInfo struct {
	// Path is the configured file path.
	Path string
	// DatabaseType is the file's metadata database_type.
	DatabaseType string
	// Layout names the fields used, e.g. "country.iso_code" or
	// "country_code+autonomous_system_number".
	Layout string
	// IPVersion is 4 for an IPv4-only database, 6 otherwise.
	IPVersion uint
	// BuildTime is when the file says it was built.
	BuildTime time.Time
}

// Info describes the databases in use now.
func (g *Geo) Info() GeoInfo {
	if g == nil {
		return GeoInfo{}
	}
	info := GeoInfo{Static: len(g.static.v4) + len(g.static.v6), LookupErrors: g.lookupErrors.Load()}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.dbs != nil {
		info.CountryDB = g.dbs.country.info()
		info.ASNDB = g.dbs.asn.info()
	}
	return info
}

func (db *geoDB) info() GeoDBInfo {
	if db == nil {
		return GeoDBInfo{}
	}
	md := db.reader.Metadata
	return GeoDBInfo{
		Path:         db.path,
		DatabaseType: md.DatabaseType,
		Layout:       db.caps.String(),
		IPVersion:    md.IPVersion,
		BuildTime:    md.BuildTime().UTC(),
	}
}

// openGeoDBs opens the files cfg names. A path given for both roles is
// opened once. On error the returned generation holds whatever did open,
// for the caller to close.
func openGeoDBs(cfg GeoConfig) (*geoDBs, error) {
	dbs := &geoDBs{}
	var errs []error
	if cfg.CountryDB != "" {
		db, err := openGeoDB("geo.country_db", cfg.CountryDB)
		if err == nil && db.caps&geoCountry == 0 {
			err = fmt.Errorf("%w: geo.country_db: %s (database_type %q, layout %s) has no country data (country.iso_code or country_code)",
				ErrGeoConfig, cfg.CountryDB, db.reader.Metadata.DatabaseType, db.caps)
			_ = db.reader.Close()
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			dbs.country = db
		}
	}
	if cfg.ASNDB != "" {
		db := dbs.country
		var err error
		if db == nil || filepath.Clean(cfg.ASNDB) != filepath.Clean(cfg.CountryDB) {
			db, err = openGeoDB("geo.asn_db", cfg.ASNDB)
		}
		if err == nil && db.caps&geoASN == 0 {
			err = fmt.Errorf("%w: geo.asn_db: %s (database_type %q, layout %s) has no ASN data (autonomous_system_number)",
				ErrGeoConfig, cfg.ASNDB, db.reader.Metadata.DatabaseType, db.caps)
			if db != dbs.country {
				_ = db.reader.Close()
			}
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			dbs.asn = db
		}
	}
	return dbs, errors.Join(errs...)
}

// openGeoDB reads the file at path into memory, opens it and detects its
// layout. field names the config field in errors.
func openGeoDB(field, path string) (*geoDB, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGeoConfig, field, err)
	}
	r, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s is not a MaxMind DB file: %w", ErrGeoConfig, field, path, err)
	}
	caps, err := detectGeoLayout(r)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("%w: %s: %s (database_type %q): %w", ErrGeoConfig, field, path, r.Metadata.DatabaseType, err)
	}
	return &geoDB{path: path, reader: r, caps: caps}, nil
}

// detectGeoLayout returns the layout of a known database_type, or else
// the fields found in the first records.
func detectGeoLayout(r *maxminddb.Reader) (geoCaps, error) {
	if caps, ok := knownGeoLayout(r.Metadata.DatabaseType); ok {
		return caps, nil
	}
	var caps geoCaps
	n := 0
	for res := range r.Networks() {
		if n == geoProbeRecords || caps&geoCountry != 0 && caps&geoASN != 0 {
			break
		}
		n++
		var p geoProbe
		if err := res.Decode(&p); err != nil {
			return 0, fmt.Errorf("unsupported record layout at %s: %w", res.Prefix(), err)
		}
		if p.Country != nil && p.Country.ISOCode != nil || p.RegisteredCountry != nil && p.RegisteredCountry.ISOCode != nil {
			caps |= geoNestedCountry
		}
		if p.CountryCode != nil {
			caps |= geoFlatCountry
		}
		if p.ASN != nil {
			caps |= geoASN
		}
	}
	if caps == 0 {
		if n == 0 {
			return 0, errors.New("no records to recognise the layout from")
		}
		return 0, fmt.Errorf("no supported fields (country.iso_code, country_code, autonomous_system_number) in its first %d records", n)
	}
	return caps, nil
}

// close closes every reader of a generation once. It is nil-safe.
func (dbs *geoDBs) close() error {
	if dbs == nil {
		return nil
	}
	var errs []error
	if dbs.country != nil {
		errs = append(errs, dbs.country.reader.Close())
	}
	if dbs.asn != nil && dbs.asn != dbs.country {
		errs = append(errs, dbs.asn.reader.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("middleware: geo close: %w", err)
	}
	return nil
}

// normalizeCountry returns the first non-empty code, upper-cased, or
// [UnknownCountry] if there is none or it is not two ASCII letters.
// Records from the databases are upper case already, so the common path
// does not allocate.
func normalizeCountry(country, registered, flat string) string {
	for _, c := range [...]string{country, registered, flat} {
		if c == "" {
			continue
		}
		if norm, ok := countryCode(c); ok {
			return norm
		}
		return UnknownCountry
	}
	return UnknownCountry
}

// countryCode upper-cases a two-letter code, reporting false for anything
// else.
func countryCode(c string) (string, bool) {
	if len(c) != 2 {
		return "", false
	}
	upper := true
	for i := range 2 {
		switch b := c[i]; {
		case 'A' <= b && b <= 'Z':
		case 'a' <= b && b <= 'z':
			upper = false
		default:
			return "", false
		}
	}
	if upper {
		return c, true
	}
	return string([]byte{c[0] &^ 0x20, c[1] &^ 0x20}), true
}

// staticGeoEntry is one validated static entry.
type staticGeoEntry struct {
	prefix netip.Prefix
	loc    Location
}

// staticGeoTable holds the static entries per address family, most
// specific first, so the first match is the answer. Static lists are
// short (private ranges, demos), so a scan beats a trie's setup.
type staticGeoTable struct {
	v4, v6 []staticGeoEntry
}

func (t *staticGeoTable) lookup(ip netip.Addr) (Location, bool) {
	list := t.v6
	if ip.Is4() {
		list = t.v4
	}
	for i := range list {
		if list[i].prefix.Contains(ip) {
			return list[i].loc, true
		}
	}
	return Location{}, false
}

// newStaticGeoTable validates the entries and sorts them.
func newStaticGeoTable(entries []StaticGeo) (staticGeoTable, error) {
	var t staticGeoTable
	var errs []error
	seen := make(map[netip.Prefix]int, len(entries))
	for i, e := range entries {
		field := fmt.Sprintf("geo.static[%d]", i)
		prefix, err := parseStaticCIDR(e.CIDR)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s.cidr: %w", ErrGeoConfig, field, err))
		} else if j, dup := seen[prefix]; dup {
			errs = append(errs, fmt.Errorf("%w: %s.cidr: %s is already geo.static[%d]", ErrGeoConfig, field, prefix, j))
			err = errors.New("duplicate")
		} else {
			seen[prefix] = i
		}
		country, ok := countryCode(e.Country)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s.country: %q is not a two-letter ISO 3166-1 code", ErrGeoConfig, field, e.Country))
		}
		if e.Org != "" && e.ASN == 0 {
			errs = append(errs, fmt.Errorf("%w: %s.org: %q is set without asn", ErrGeoConfig, field, e.Org))
			ok = false
		}
		if err != nil || !ok {
			continue
		}
		entry := staticGeoEntry{prefix: prefix, loc: Location{Country: country, ASN: e.ASN, ASOrg: e.Org}}
		if prefix.Addr().Is4() {
			t.v4 = append(t.v4, entry)
		} else {
			t.v6 = append(t.v6, entry)
		}
	}
	mostSpecificFirst := func(a, b staticGeoEntry) int { return cmp.Compare(b.prefix.Bits(), a.prefix.Bits()) }
	slices.SortStableFunc(t.v4, mostSpecificFirst)
	slices.SortStableFunc(t.v6, mostSpecificFirst)
	return t, errors.Join(errs...)
}

// parseStaticCIDR parses a prefix or a bare address, masks host bits and
// turns an IPv4-mapped IPv6 prefix into its IPv4 prefix, matching how
// [Geo.Lookup] unmaps addresses.
func parseStaticCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		addr, aerr := netip.ParseAddr(s)
		if aerr != nil || addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix or address", s)
		}
		p = netip.PrefixFrom(addr, addr.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}
