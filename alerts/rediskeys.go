package alerts

import "strconv"

// redisKeys builds every key the Redis store uses (see doc.go, "Redis data
// model"). Keys of one network share the hash tag {CC:ASN}, so all of them
// sit in one Cluster slot and one Lua script may touch them together; the
// fingerprint index shares {fp}; per-minute active sets have no tag and
// spread over the cluster.
type redisKeys struct{ prefix string }

func (k redisKeys) tag(n Network) string {
	return k.prefix + ":{" + n.String() + "}:"
}

// bucket is the HASH of one network's counters for one minute.
func (k redisKeys) bucket(n Network, minute int64) string {
	return k.bucketPrefix(n) + strconv.FormatInt(minute, 10)
}

// bucketPrefix is what n's bucket keys start with, before the minute.
func (k redisKeys) bucketPrefix(n Network) string { return k.tag(n) + "m:" }

// clients is the HyperLogLog of one network's client hashes for one minute.
func (k redisKeys) clients(n Network, minute int64) string {
	return k.tag(n) + "c:" + strconv.FormatInt(minute, 10)
}

// ja4Clients is the HyperLogLog of the client hashes that carried one
// intercepted or unknown JA4 in one network's minute. sumLua builds these
// names itself, as ja4ClientsPrefix(n) .. minute .. ":" .. ja4, taking the
// minute from the bucket key after bucketPrefix(n).
func (k redisKeys) ja4Clients(n Network, minute int64, ja4 string) string {
	return k.ja4ClientsPrefix(n) + strconv.FormatInt(minute, 10) + ":" + ja4
}

// ja4ClientsPrefix is what n's JA4 client HLL keys start with.
func (k redisKeys) ja4ClientsPrefix(n Network) string { return k.tag(n) + "jc:" }

// ack is the STRING holding the last batch Seq of node applied to n.
func (k redisKeys) ack(n Network, node string) string {
	return k.tag(n) + "ack:" + node
}

// tmp is scratch space for a query merging many HyperLogLogs of n.
func (k redisKeys) tmp(n Network) string { return k.tag(n) + "tmp" }

// active is the SET of networks ("CC:ASN") with data in a minute.
func (k redisKeys) active(minute int64) string {
	return k.prefix + ":active:" + strconv.FormatInt(minute, 10)
}

// fpFirst and fpLast are ZSETs of JA4 → first / last minute seen.
func (k redisKeys) fpFirst() string { return k.prefix + ":{fp}:first" }
func (k redisKeys) fpLast() string  { return k.prefix + ":{fp}:last" }

// fpGrade and fpReasons are HASHes of JA4 → TLS grade (the number of a
// fingerprints.Grade, never 0) and JA4 → verdict reasons (the bits of a
// fingerprints.Reasons, as Lua's bit library returns them: a signed
// 32-bit integer).
func (k redisKeys) fpGrade() string   { return k.prefix + ":{fp}:grade" }
func (k redisKeys) fpReasons() string { return k.prefix + ":{fp}:reasons" }

// fpNets is the ZSET of networks → first minute a JA4 was seen there.
func (k redisKeys) fpNets(ja4 string) string { return k.prefix + ":{fp}:n:" + ja4 }

// asOrgs is the HASH of ASN → organisation name.
func (k redisKeys) asOrgs() string { return k.prefix + ":asorg" }

// Fields of a bucket HASH.
const (
	fieldConnections = "n"
	fieldBrowser     = "b"
	fieldClean       = "c"
	fieldIntercepted = "i"
	fieldSpoofed     = "s"
	fieldUnknown     = "u"
	// Prefixes of per-name counters.
	fieldProduct        = "p:"
	fieldInterceptedJA4 = "ji:"
	fieldUnknownJA4     = "ju:"
	// fieldJA4Clients prefixes the distinct clients of a JA4 in a sumLua
	// reply (never a bucket field).
	fieldJA4Clients = "jc:"
)
