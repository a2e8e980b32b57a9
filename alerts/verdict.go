package alerts

import (
	"fmt"
	"net/netip"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Verdict is the classification of one connection, as the middleware maps
// it from the fingerprints package. The zero value is [VerdictUnknown], so a
// verdict nobody set never counts as clean.
type Verdict uint8

const (
	// VerdictUnknown: the hello could not be matched to what the client
	// claims nor to a known interception product.
	VerdictUnknown Verdict = iota
	// VerdictClean: the hello matches the browser the client claims to be.
	VerdictClean
	// VerdictIntercepted: the hello is a known interception product's, or
	// cannot come from the claimed browser.
	VerdictIntercepted
	// VerdictSpoofed: the client claims a browser its hello contradicts in a
	// way that points to a bot or tool rather than a middlebox.
	VerdictSpoofed

	numVerdicts = iota
)

var verdictNames = [numVerdicts]string{"unknown", "clean", "intercepted", "spoofed"}

// String returns "clean", "intercepted", "spoofed" or "unknown"; an out of
// range value prints as "verdict(N)".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// MarshalText implements encoding.TextMarshaler.
func (v Verdict) MarshalText() ([]byte, error) {
	if int(v) >= len(verdictNames) {
		return nil, fmt.Errorf("alerts: invalid verdict %d", uint8(v))
	}
	return []byte(verdictNames[v]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if string(b) == n {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("alerts: unknown verdict %q", b)
}

// Observation is what the middleware records for one connection. It is
// small and passed by value; [Recorder.Record] neither allocates nor keeps
// the client address.
type Observation struct {
	// Country is the ISO 3166-1 alpha-2 code of the client's address; "ZZ"
	// (or anything that is not two ASCII letters) means unknown.
	Country string
	// ASN is the client's autonomous system; 0 means unknown.
	ASN uint32
	// ASOrg is the AS organisation name, stored once per ASN for display.
	ASOrg string
	// Browser says the client claimed to be a browser; only browser
	// connections count toward verdict shares.
	Browser bool
	// Verdict is the connection's classification.
	Verdict Verdict
	// Product is the interception product's name when known; counted for
	// intercepted browser connections.
	Product string
	// JA4 is the hello's JA4; counted per fingerprint for intercepted and
	// unknown browser connections.
	JA4 string
	// Grade and Reasons are, for intercepted and unknown verdicts, the
	// hello's TLS grade and the verdict's reasons. The recorder keeps them
	// per JA4 (see [Batch].JA4Notes) and the store per JA4 with the
	// fingerprint index, so the node that sends an alert can show them even
	// if it never saw the JA4 itself. Ignored for other verdicts and
	// without a JA4.
	Grade   fingerprints.Grade
	Reasons fingerprints.Reasons
	// Client feeds the unique-client HyperLogLog through a keyed hash; it is
	// never stored. The zero Addr is not counted.
	Client netip.Addr
}

// Network is one (country, ASN) pair, the unit every count is kept for.
type Network struct {
	Country string `json:"country"`
	ASN     uint32 `json:"asn"`
}

// String returns "CC:ASN", e.g. "KZ:9198", the form used in Redis keys and
// set members.
func (n Network) String() string { return fmt.Sprintf("%s:%d", n.Country, n.ASN) }

// ParseNetwork parses the "CC:ASN" form of [Network.String].
func ParseNetwork(s string) (Network, error) {
	if len(s) < 4 || s[2] != ':' {
		return Network{}, fmt.Errorf("alerts: bad network %q", s)
	}
	var asn uint64
	for _, c := range s[3:] {
		asn = asn*10 + uint64(c-'0')
		if c < '0' || c > '9' || asn > 1<<32-1 {
			return Network{}, fmt.Errorf("alerts: bad network %q", s)
		}
	}
	return Network{Country: s[:2], ASN: uint32(asn)}, nil
}
