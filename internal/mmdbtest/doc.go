// Package mmdbtest writes small MaxMind-format (.mmdb) databases for tests,
// in each record layout that mitmwatch's geo attribution reads, using
// github.com/maxmind/mmdbwriter.
//
// Real GeoLite2 or DB-IP files cannot be committed (their licences ask for
// attribution or an account, and they are tens of megabytes), and a test
// that depends on one silently tests nothing when the file is absent. So
// tests build the few networks they need, usually from TestMain into a
// temporary directory that TestMain removes afterwards.
//
// # Layouts
//
// [WriteCountry] and [WriteASN] write one entry per CIDR in a chosen
// [CountryLayout] or [ASNLayout]:
//
//   - [GeoLite2Country], [GeoLite2City] and [DBIPCountryLite]: the nested
//     MaxMind shape, country.iso_code (and registered_country.iso_code in
//     the MaxMind ones), with the database_type each vendor writes.
//   - [GeoLite2ASN] and [DBIPASNLite]: autonomous_system_number (uint32)
//     and autonomous_system_organization (string).
//   - [FlatCountry], [FlatCountryIPv4], [FlatASN] and [FlatASNIPv4]: the
//     flat records of the freely licensed sapics/ip-location-db builds
//     (including its iptoasn and asn-country files), a top-level
//     country_code string or the two ASN fields, written like that
//     project's converter does: IPv4 aliasing disabled and a
//     database_type such as "country ipv4". Its ipv4 files are IPv4-only
//     databases, which the reader refuses IPv6 lookups on.
//
// [WriteCountryDB], [WriteASNDB] and [WriteFlatCountryDB] are shorthands
// for the most common layouts. [WriteRecords] writes arbitrary records
// (a file carrying both country and ASN, a record with only
// registered_country, a field of the wrong type) for the cases the named
// layouts do not cover.
//
// # Files
//
// Every database includes reserved networks, so tests can use the
// documentation ranges of RFC 5737 and RFC 3849 and loopback. Files are
// written to a temporary name in the target directory and renamed into
// place, so a reader reloading concurrently sees either the old or the new
// file, never half of one. The build time is fixed ([BuildEpoch]) unless
// [Options.BuildEpoch] says otherwise, so the same input gives the same
// bytes.
package mmdbtest
