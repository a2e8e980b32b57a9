package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Subject is what an incident is about: a country, an ASN or a network
// and, for new_fingerprint rules, a JA4 in that network.
type Subject struct {
	Scope   string `json:"scope"`
	Country string `json:"country,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
	JA4     string `json:"ja4,omitempty"`
}

// String names the subject for people: "KZ", "AS9198", "KZ AS9198",
// "KZ AS9198 t13d…".
func (s Subject) String() string {
	var out string
	switch s.Scope {
	case ScopeCountry:
		out = s.Country
	case ScopeASN:
		out = "AS" + strconv.FormatUint(uint64(s.ASN), 10)
	default:
		out = s.Country + " AS" + strconv.FormatUint(uint64(s.ASN), 10)
	}
	if s.JA4 != "" {
		out += " " + s.JA4
	}
	return out
}

// tag is the subject's Redis hash tag content: a network's is the store's
// own ("KZ:9198"), so an incident lives in the same Cluster slot as the
// counts it is about; a country's is "KZ", an ASN's "AS9198".
func (s Subject) tag() string {
	switch s.Scope {
	case ScopeCountry:
		return keySafe(s.Country)
	case ScopeASN:
		return "AS" + strconv.FormatUint(uint64(s.ASN), 10)
	default:
		return Network{Country: keySafe(s.Country), ASN: s.ASN}.String()
	}
}

// keySafe returns s if it is made of characters safe in a key (no hash
// tag braces, no separators a reader could confuse), else a hash of it.
func keySafe(s string) string {
	ok := s != "" && len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if ok {
		return s
	}
	h := sha256.Sum256([]byte(s))
	return "h" + hex.EncodeToString(h[:8])
}

// incidentKey is the key of the incident of rule about s, without prefix;
// the stores add theirs.
func incidentKey(rule string, s Subject) string {
	k := "{" + s.tag() + "}:inc:" + rule
	if s.JA4 != "" {
		k += ":" + keySafe(s.JA4)
	}
	return k
}

// coordKeys names the keys of the Redis incident store, outbox and
// delivery log (see doc.go, "Coordination keys").
type coordKeys struct{ prefix string }

func newCoordKeys(prefix string) (coordKeys, error) {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return coordKeys{}, fmt.Errorf("alerts: Redis prefix %q contains a hash tag brace", prefix)
	}
	return coordKeys{prefix: prefix}, nil
}

// incident is the STRING holding one open incident (JSON).
func (k coordKeys) incident(rule string, s Subject) string {
	return k.prefix + ":" + incidentKey(rule, s)
}

// incidentIndex is the SET of open incidents' keys. It is untagged (one
// key, any slot) and advisory: List checks each member's key.
func (k coordKeys) incidentIndex() string { return k.prefix + ":alerts:incidents" }

// stream is the outbox STREAM; everything of the outbox shares {outbox}.
func (k coordKeys) stream() string { return k.prefix + ":{outbox}:events" }

// sinkState is the HASH of one event's per-sink delivery state.
func (k coordKeys) sinkState(eventID string) string {
	return k.prefix + ":{outbox}:s:" + keySafe(eventID)
}

// deliveryLog is the LIST of recent delivery attempts.
func (k coordKeys) deliveryLog() string { return k.prefix + ":{outbox}:log" }
