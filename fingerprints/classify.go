package fingerprints

import (
	"net/http"
	"slices"
	"sync/atomic"
)

// ClassifierConfig configures a [Classifier]. The zero value is ready to
// use: the embedded signature database and a 4096-entry claim cache.
type ClassifierConfig struct {
	// Database is the signature database. Nil means [DefaultDatabase].
	Database *Database
	// ClaimCacheSize bounds the User-Agent cache. 0 means 4096.
	ClaimCacheSize int
}

// Classifier turns a ClientHello and the request that rides on it into a
// [Verdict]. It is safe for concurrent use; [Classifier.SetDatabase] swaps
// the signature database without stopping traffic.
type Classifier struct {
	db     atomic.Pointer[Database]
	claims *ClaimCache
	core   coreCache
}

// NewClassifier returns a classifier configured by cfg.
func NewClassifier(cfg ClassifierConfig) (*Classifier, error) {
	db := cfg.Database
	if db == nil {
		var err error
		if db, err = DefaultDatabase(); err != nil {
			return nil, err
		}
	}
	c := &Classifier{claims: NewClaimCache(cfg.ClaimCacheSize)}
	c.db.Store(db)
	return c, nil
}

// SetDatabase replaces the signature database; verdicts computed after it
// returns use the new one. A nil db is ignored.
func (c *Classifier) SetDatabase(db *Database) {
	if db != nil {
		c.db.Store(db)
	}
}

// Database returns the signature database in use.
func (c *Classifier) Database() *Database { return c.db.Load() }

// ClaimCacheStats reports the User-Agent cache's hits and misses.
func (c *Classifier) ClaimCacheStats() ClaimCacheStats { return c.claims.Stats() }

// CoreFingerprints returns h.CoreFingerprints() (JA3, its hash and JA4),
// remembered per hello shape: a later hello of the same client stack gets
// them without formatting, hashing or allocating. Chrome's, whose
// extension order changes per connection, gets its JA4 so and its JA3
// computed.
func (c *Classifier) CoreFingerprints(h *ClientHello) Fingerprints { return c.core.fingerprints(h) }

// CoreCacheStats reports how often CoreFingerprints found a hello's shape
// remembered.
func (c *Classifier) CoreCacheStats() CoreCacheStats { return c.core.stats() }

// Request is the HTTP evidence that rides on a TLS connection.
type Request struct {
	UserAgent       string
	SecCHUA         string
	SecCHUAMobile   string
	SecCHUAPlatform string
	// Header is the full request header, for injected headers and for the
	// headers real browsers send. May be nil.
	Header http.Header
	// ProtoMajor is the request's HTTP major version (1 or 2; 0 unknown).
	ProtoMajor int
	// ServerOffersH2 says the server offered HTTP/2 in its ALPN list, so
	// a browser that offered h2 would have used it.
	ServerOffersH2 bool
}

// RequestFromHTTP collects the evidence from r. serverOffersH2 says whether
// the server that received r offers HTTP/2.
func RequestFromHTTP(r *http.Request, serverOffersH2 bool) Request {
	// The keys are written in canonical form: Header.Get would allocate
	// a canonical copy of "Sec-CH-UA" on every call.
	return Request{
		UserAgent:       firstValue(r.Header, "User-Agent"),
		SecCHUA:         firstValue(r.Header, "Sec-Ch-Ua"),
		SecCHUAMobile:   firstValue(r.Header, "Sec-Ch-Ua-Mobile"),
		SecCHUAPlatform: firstValue(r.Header, "Sec-Ch-Ua-Platform"),
		Header:          r.Header,
		ProtoMajor:      r.ProtoMajor,
		ServerOffersH2:  serverOffersH2,
	}
}

// firstValue is h.Get(key) for a key already in canonical form.
func firstValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Confidence levels. They are deliberately few and coarse: each says how
// much independent evidence agrees, not a probability fitted to data.
const (
	confidenceStrong   = 0.95 // a named product's fingerprint, or an exact known-good browser
	confidenceGood     = 0.85 // the stack's invariants decide, with corroborating request evidence
	confidenceModerate = 0.7  // one independent signal (an injected header, invariants alone)
	confidenceWeak     = 0.5
)

// Classify decides about one connection. h is the connection's ClientHello
// and f its fingerprints (nil: computed here, which allocates; callers on
// the request path compute them once per connection). When only the
// fingerprints are known (h nil, f set: a trusted upstream passed JA4/JA3)
// the verdict rests on exact matches alone; with neither it is unknown.
// With a cached User-Agent it does not allocate.
func (c *Classifier) Classify(h *ClientHello, f *Fingerprints, req *Request) Verdict {
	db := c.db.Load()
	claim := c.claims.Get(req.UserAgent, req.SecCHUA, req.SecCHUAMobile, req.SecCHUAPlatform)
	v := Verdict{Client: ClientInfo{Family: claim.Family, Product: claim.Product, Version: claim.Major, Browser: claim.Browser, Bot: claim.Bot}}
	ev := examineHeaders(db, req)
	if ev.cdn {
		v.Reasons = v.Reasons.Add(ReasonCDNHeader)
	}

	if h == nil {
		return c.classifyWithoutHello(db, f, claim, ev, v)
	}
	if f == nil {
		fp := h.Fingerprints()
		f = &fp
	}
	stack := db.MatchStack(f.JA4)
	if stack != nil {
		v.Stack = stack.Name
	}

	if !claim.Browser || claim.Family == FamilyOther {
		if !claim.Browser {
			v.Reasons = v.Reasons.Add(ReasonNotABrowser)
			// An honest program: judged clean, and not counted among
			// browser connections by the aggregates.
			v.Verdict, v.Confidence = OutcomeClean, confidenceWeak
			if stack.is("library") {
				v.Confidence = confidenceModerate
			}
		} else {
			v.Reasons = v.Reasons.Add(ReasonUnknownBrowser)
			v.Verdict, v.Confidence = OutcomeUnknown, 0
		}
		if ev.injected != nil {
			v.nameProduct(ev.injected)
			v.Reasons = v.Reasons.Add(ReasonInjectedHeader)
		}
		return v
	}

	traits := traitsOf(h)
	mismatch := violations(claim.Family, claim.Major, traits)
	consistent := mismatch == 0
	v.Reasons |= mismatch
	if ev.browser {
		v.Reasons = v.Reasons.Add(ReasonBrowserHeaders)
	}
	if req.ServerOffersH2 && req.ProtoMajor == 1 && !slices.Contains(h.ALPN, "h2") {
		// The hello that reached us did not offer h2, although the
		// claimed browser always does; the request then came over
		// HTTP/1.1. Only a weak sign: it adds to, never makes, a verdict.
		v.Reasons = v.Reasons.Add(ReasonHTTP1Downgrade)
	}

	product := db.MatchProduct(f)
	switch {
	case consistent && stack.is(claim.Family.String()):
		// An exact genuine fingerprint of the claimed family.
		v.Verdict, v.Confidence = OutcomeClean, confidenceStrong
		v.Reasons = v.Reasons.Add(ReasonConsistent).Add(ReasonKnownGood)
	case product != nil && (!product.Generic || ev.browser):
		v.Verdict, v.Confidence = OutcomeIntercepted, confidenceStrong
		if consistent {
			// The product's hello passes for the claimed browser's:
			// only the exact fingerprint speaks.
			v.Confidence = confidenceModerate
		}
		v.nameProduct(product)
		v.Reasons = v.Reasons.Add(ReasonProductHello)
	case consistent:
		v.Verdict, v.Confidence = OutcomeClean, confidenceGood
		v.Reasons = v.Reasons.Add(ReasonConsistent)
	case !ev.browser:
		// Not the claimed browser's stack, and none of the headers
		// browsers send: a program wearing a browser's User-Agent.
		v.Verdict, v.Confidence = OutcomeSpoofed, confidenceGood
		v.Reasons = v.Reasons.Add(ReasonNoBrowserHeaders)
		if stack.is("library") {
			v.Reasons = v.Reasons.Add(ReasonLibraryStack)
			v.Confidence = confidenceStrong
		}
		if product != nil {
			v.Reasons = v.Reasons.Add(ReasonProductHello)
		}
	case otherFamily(claim.Family, traits) != FamilyOther:
		// A genuine hello of another browser under this User-Agent,
		// with a browser's headers: a User-Agent switcher. Not an alarm.
		v.Verdict, v.Confidence = OutcomeUnknown, confidenceWeak
		v.Reasons = v.Reasons.Add(ReasonOtherBrowserStack)
	default:
		v.Verdict, v.Confidence = OutcomeIntercepted, confidenceGood
		if stack.is("library") {
			v.Reasons = v.Reasons.Add(ReasonLibraryStack)
		}
	}

	if ev.injected != nil {
		v.Reasons = v.Reasons.Add(ReasonInjectedHeader)
		switch v.Verdict {
		case OutcomeClean, OutcomeUnknown:
			// The header names the product even when the hello looks
			// like the browser's own.
			v.Verdict, v.Confidence = OutcomeIntercepted, confidenceModerate
			v.nameProduct(ev.injected)
		case OutcomeIntercepted:
			if v.Product == "" {
				v.nameProduct(ev.injected)
			}
			v.Confidence = confidenceStrong
		}
	}
	if v.Verdict == OutcomeIntercepted {
		if v.Grade == GradeNone {
			v.Grade = GradeHello(h)
		}
		if v.Reasons.Has(ReasonHTTP1Downgrade) && v.Confidence < confidenceStrong {
			v.Confidence += 0.05
		}
	}
	return v
}

// classifyWithoutHello decides from fingerprints alone (a trusted upstream
// passed JA4/JA3 but not the hello) or from nothing at all. Without the
// hello the stack invariants cannot be checked: only exact fingerprints of
// products and known stacks speak, so the verdict is cautious.
func (c *Classifier) classifyWithoutHello(db *Database, f *Fingerprints, claim Claim, ev headerEvidence, v Verdict) Verdict {
	v.Verdict, v.Confidence = OutcomeUnknown, 0
	if f == nil || f.JA4 == "" && f.JA3Hash == "" {
		v.Reasons = v.Reasons.Add(ReasonNoHello)
	} else if claim.Browser {
		stack := db.MatchStack(f.JA4)
		if stack != nil {
			v.Stack = stack.Name
		}
		if ev.browser {
			v.Reasons = v.Reasons.Add(ReasonBrowserHeaders)
		}
		switch product := db.MatchProduct(f); {
		case stack.is(claim.Family.String()):
			v.Verdict, v.Confidence = OutcomeClean, confidenceGood
			v.Reasons = v.Reasons.Add(ReasonKnownGood)
		case product != nil && (!product.Generic || ev.browser):
			v.Verdict, v.Confidence = OutcomeIntercepted, confidenceGood
			v.nameProduct(product)
			v.Reasons = v.Reasons.Add(ReasonProductHello)
		case stack.is("library") && !ev.browser:
			v.Verdict, v.Confidence = OutcomeSpoofed, confidenceGood
			v.Reasons = v.Reasons.Add(ReasonLibraryStack).Add(ReasonNoBrowserHeaders)
		}
	} else {
		v.Verdict, v.Confidence = OutcomeClean, confidenceWeak
		v.Reasons = v.Reasons.Add(ReasonNotABrowser)
	}
	if ev.injected != nil {
		v.Reasons = v.Reasons.Add(ReasonInjectedHeader)
		if v.Verdict != OutcomeSpoofed {
			if v.Verdict != OutcomeIntercepted {
				v.Verdict, v.Confidence = OutcomeIntercepted, confidenceModerate
			}
			if v.Product == "" {
				v.nameProduct(ev.injected)
			}
		}
	}
	return v
}

func (v *Verdict) nameProduct(p *Product) {
	v.Product, v.Vendor, v.Kind, v.Grade = p.Name, p.Vendor, p.Kind, p.Grade
}

// headerEvidence is what the request headers say.
type headerEvidence struct {
	// injected is the product whose header the request carries (CDN
	// headers excluded).
	injected *Product
	// cdn is set when a CDN's header is present.
	cdn bool
	// browser is set when the request carries at least two of the header
	// groups every current browser sends on a page load: Sec-Fetch-*
	// (Chrome 76+, Firefox 90+, Safari 16.4+), Accept-Language, client
	// hints (Chromium 89+), Upgrade-Insecure-Requests. Interceptors pass
	// these through; HTTP libraries do not send them unless told to.
	browser bool
}

func examineHeaders(db *Database, req *Request) headerEvidence {
	var ev headerEvidence
	groups := 0
	if req.SecCHUA != "" {
		groups++
	}
	if _, ok := req.Header["Accept-Language"]; ok {
		groups++
	}
	if _, ok := req.Header["Upgrade-Insecure-Requests"]; ok {
		groups++
	}
	// One walk over the header both finds the Sec-Fetch-* group and
	// looks up every name among the products' injected headers.
	secFetch := false
	for name := range req.Header {
		if !secFetch && len(name) > 9 && (name[:9] == "Sec-Fetch" || name[:9] == "sec-fetch") {
			secFetch = true
			groups++
		}
		if p := db.MatchHeader(name); p != nil {
			if p.Kind == KindCDN {
				ev.cdn = true
			} else if ev.injected == nil {
				ev.injected = p
			}
		}
	}
	ev.browser = groups >= 2
	return ev
}
