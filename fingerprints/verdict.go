package fingerprints

import (
	"encoding/json"
	"fmt"
)

// Outcome is the decision about one connection.
type Outcome uint8

// Outcomes. The zero value is OutcomeUnknown: without evidence mitmwatch
// claims nothing.
const (
	// OutcomeUnknown: not enough evidence either way (no hello captured,
	// an unrecognised client, a hello of another browser under this
	// User-Agent).
	OutcomeUnknown Outcome = iota
	// OutcomeClean: the hello is what the claimed client sends.
	OutcomeClean
	// OutcomeIntercepted: a person's browser is behind the connection,
	// but the TLS session was opened by something else: a proxy,
	// antivirus or middlebox that terminated the user's TLS.
	OutcomeIntercepted
	// OutcomeSpoofed: a program is wearing a browser's User-Agent. Count
	// it as a bot; never show it a banner.
	OutcomeSpoofed
)

func (o Outcome) String() string {
	switch o {
	case OutcomeClean:
		return "clean"
	case OutcomeIntercepted:
		return "intercepted"
	case OutcomeSpoofed:
		return "spoofed"
	}
	return "unknown"
}

// MarshalText encodes the outcome as "clean", "intercepted", "spoofed" or
// "unknown".
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText decodes the names MarshalText produces.
func (o *Outcome) UnmarshalText(b []byte) error {
	for _, c := range []Outcome{OutcomeUnknown, OutcomeClean, OutcomeIntercepted, OutcomeSpoofed} {
		if string(b) == c.String() {
			*o = c
			return nil
		}
	}
	return fmt.Errorf("fingerprints: unknown verdict %q", b)
}

// ProductKind says what kind of product intercepts.
type ProductKind string

// Product kinds.
const (
	KindAntivirus       ProductKind = "antivirus"
	KindCorporateProxy  ProductKind = "corporate_proxy"
	KindStateMiddlebox  ProductKind = "state_middlebox"
	KindMalware         ProductKind = "malware"
	KindDebuggingProxy  ProductKind = "debugging_proxy"
	KindParentalControl ProductKind = "parental_control"
	// KindCDN marks headers a CDN adds. A site behind that CDN sees them
	// on every request, so they are reported but never make a verdict.
	KindCDN ProductKind = "cdn"
)

func (k ProductKind) valid() bool {
	switch k {
	case KindAntivirus, KindCorporateProxy, KindStateMiddlebox, KindMalware, KindDebuggingProxy, KindParentalControl, KindCDN:
		return true
	}
	return false
}

// Verdict is mitmwatch's decision about one connection and the User-Agent
// that rides on it.
type Verdict struct {
	Verdict Outcome `json:"verdict"`
	// Product, Vendor and Kind name the interceptor when it is known.
	Product string      `json:"product,omitempty"`
	Vendor  string      `json:"vendor,omitempty"`
	Kind    ProductKind `json:"kind,omitempty"`
	// Confidence in the verdict, from 0 to 1.
	Confidence float64 `json:"confidence"`
	// Grade rates the interceptor's TLS (intercepted verdicts only).
	Grade Grade `json:"grade,omitempty"`
	// Reasons explain the verdict in sentences a SOC analyst reads.
	Reasons Reasons `json:"reasons"`
	// Client is what the User-Agent and client hints claim.
	Client ClientInfo `json:"client"`
	// Stack names the TLS stack the hello was recognised as, when it
	// matched a known one ("Go crypto/tls", "Chromium 120–131", …).
	Stack string `json:"stack,omitempty"`
}

// ClientInfo is the claimed client, as reported in a Verdict.
type ClientInfo struct {
	Family  Family `json:"family"`
	Product string `json:"product,omitempty"`
	Version int    `json:"version,omitempty"`
	Browser bool   `json:"browser"`
	Bot     bool   `json:"bot,omitempty"`
}

// Reason is one piece of evidence behind a verdict.
type Reason uint8

// Reasons. Their sentences are in reasonText; keep the two in step.
const (
	ReasonNoHello Reason = iota
	ReasonNotABrowser
	ReasonUnknownBrowser
	ReasonProductHello
	ReasonInjectedHeader
	ReasonCDNHeader
	ReasonConsistent
	ReasonKnownGood
	ReasonMissingGREASE
	ReasonUnexpectedGREASE
	ReasonNoTLS13
	ReasonCipherOrder
	ReasonForeignExtensions
	ReasonMissingExtensions
	ReasonLegacyCiphers
	ReasonCompression
	ReasonLibraryStack
	ReasonOtherBrowserStack
	ReasonBrowserHeaders
	ReasonNoBrowserHeaders
	ReasonHTTP1Downgrade
	ReasonNoALPN
	reasonCount
)

var reasonText = [reasonCount]string{
	ReasonNoHello:           "No TLS ClientHello was captured for this connection, so there is nothing to judge.",
	ReasonNotABrowser:       "The client declares itself a program or crawler, not a browser; interception is judged for browsers only.",
	ReasonUnknownBrowser:    "The User-Agent names no browser whose TLS stack mitmwatch knows.",
	ReasonProductHello:      "The TLS handshake matches the fingerprint of a known interception product.",
	ReasonInjectedHeader:    "The request carries an HTTP header that an interception product adds to the traffic it inspects.",
	ReasonCDNHeader:         "The request carries a header a CDN adds; if this site is not behind that CDN, a proxy is in the path.",
	ReasonConsistent:        "The TLS handshake has every trait of the browser family the User-Agent names.",
	ReasonKnownGood:         "The TLS handshake exactly matches a fingerprint recorded from a genuine browser.",
	ReasonMissingGREASE:     "Chromium-based browsers put random GREASE values in every handshake; this one has none, so Chromium's TLS library did not write it.",
	ReasonUnexpectedGREASE:  "The handshake carries GREASE values, which this browser family never sends.",
	ReasonNoTLS13:           "The claimed browser version offers TLS 1.3; this handshake does not.",
	ReasonCipherOrder:       "The cipher suites are not in the order this browser family has always used.",
	ReasonForeignExtensions: "The handshake carries TLS extensions this browser family does not send.",
	ReasonMissingExtensions: "The handshake lacks TLS extensions this browser family always sends.",
	ReasonLegacyCiphers:     "The handshake offers broken or obsolete cipher suites (export, NULL, RC4) that current browsers never offer.",
	ReasonCompression:       "The handshake offers TLS compression, which no browser has offered since the CRIME attack (2012).",
	ReasonLibraryStack:      "The handshake is that of a programming library or command-line tool, not of a browser.",
	ReasonOtherBrowserStack: "The handshake is a genuine handshake of a different browser family: most likely a User-Agent switcher, not interception.",
	ReasonBrowserHeaders:    "The request carries the headers real browsers send (Sec-Fetch-*, client hints, Accept-Language), so a person's browser is behind it.",
	ReasonNoBrowserHeaders:  "The request lacks the headers every current browser sends: a program is using a browser's User-Agent.",
	ReasonHTTP1Downgrade:    "The browser offers HTTP/2 on every connection and the server supports it, yet this request came over HTTP/1.1: a weak sign of a proxy in between.",
	ReasonNoALPN:            "The handshake offers no application protocol (ALPN), which every current browser does.",
}

// String returns the reason as a sentence.
func (r Reason) String() string {
	if r < reasonCount {
		return reasonText[r]
	}
	return fmt.Sprintf("reason %d", r)
}

// Reasons is a set of reasons. It is a bit set so that a verdict costs no
// allocation; it marshals to JSON as a list of sentences.
type Reasons uint32

// Add returns the set with r added.
func (rs Reasons) Add(r Reason) Reasons { return rs | 1<<r }

// Has reports whether r is in the set.
func (rs Reasons) Has(r Reason) bool { return rs&(1<<r) != 0 }

// List returns the reasons in a fixed order.
func (rs Reasons) List() []Reason {
	var out []Reason
	for r := Reason(0); r < reasonCount; r++ {
		if rs.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// Strings returns the reasons as sentences.
func (rs Reasons) Strings() []string {
	out := []string{}
	for _, r := range rs.List() {
		out = append(out, r.String())
	}
	return out
}

// MarshalJSON encodes the set as a list of sentences.
func (rs Reasons) MarshalJSON() ([]byte, error) { return json.Marshal(rs.Strings()) }

// UnmarshalJSON decodes a list of sentences produced by MarshalJSON;
// sentences it does not know are ignored.
func (rs *Reasons) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*rs = 0
	for _, s := range list {
		for r := Reason(0); r < reasonCount; r++ {
			if reasonText[r] == s {
				*rs = rs.Add(r)
			}
		}
	}
	return nil
}
