package fingerprints

// Stack invariants: traits of a browser family's TLS library that hold
// across its releases, so that a new browser version stays clean without a
// new fingerprint. Each trait is checked only from the version that
// introduced it; a claim without a version is held to the current release.
//
// Sources: REFERENCE.md (BoringSSL GREASE and shuffling, NSS without
// GREASE, Apple's stack with GREASE from iOS 14/Safari 14), RFC 8701
// (GREASE), and the project's own captures in testdata/clienthello.

// helloTraits summarises the parts of a hello the invariants look at.
type helloTraits struct {
	greaseCipher, greaseExt, grease bool
	tls13                           bool
	onlyNullCompression             bool
	legacyCiphers                   bool
	firstCiphers                    [3]uint16 // first three non-GREASE suites
	hasALPN                         bool
	ext                             extSet
}

// extSet records which of the extensions the invariants name are present.
type extSet uint32

const (
	eEMS               extSet = 1 << iota // extended_master_secret 0x0017
	eReneg                                // renegotiation_info 0xff01
	eGroups                               // supported_groups 0x000a
	eSigAlgs                              // signature_algorithms 0x000d
	eALPN                                 // 0x0010
	eStatus                               // status_request 0x0005
	eRecordSizeLimit                      // 0x001c, NSS
	eDelegatedCreds                       // delegated_credentials 0x0022, NSS
	eEncryptThenMAC                       // 0x0016, OpenSSL and others; no browser
	ePostHandshakeAuth                    // 0x0031, OpenSSL; no browser
	eHeartbeat                            // 0x000f
	eALPS                                 // application_settings 0x4469 / 0x44cd, BoringSSL only
	eNPN                                  // next_protocol_negotiation 0x3374
)

func extBit(t uint16) extSet {
	switch t {
	case 0x0017:
		return eEMS
	case 0xff01:
		return eReneg
	case 0x000a:
		return eGroups
	case 0x000d:
		return eSigAlgs
	case 0x0010:
		return eALPN
	case 0x0005:
		return eStatus
	case 0x001c:
		return eRecordSizeLimit
	case 0x0022:
		return eDelegatedCreds
	case 0x0016:
		return eEncryptThenMAC
	case 0x0031:
		return ePostHandshakeAuth
	case 0x000f:
		return eHeartbeat
	case 0x4469, 0x44cd:
		return eALPS
	case 0x3374:
		return eNPN
	}
	return 0
}

func traitsOf(h *ClientHello) helloTraits {
	var t helloTraits
	n := 0
	for _, c := range h.CipherSuites {
		if IsGREASE(c) {
			t.greaseCipher = true
			continue
		}
		if n < len(t.firstCiphers) {
			t.firstCiphers[n] = c
			n++
		}
		if suiteProperties(c)&suiteBroken != 0 || isRC4(c) {
			t.legacyCiphers = true
		}
	}
	for i := range h.Extensions {
		e := h.Extensions[i].Type
		if IsGREASE(e) {
			t.greaseExt = true
			continue
		}
		t.ext |= extBit(e)
	}
	t.grease = t.greaseCipher || t.greaseExt
	for _, v := range h.SupportedVersions {
		if v == 0x0304 {
			t.tls13 = true
		}
	}
	t.onlyNullCompression = len(h.CompressionMethods) == 1 && h.CompressionMethods[0] == 0
	t.hasALPN = len(h.ALPN) > 0
	return t
}

func isRC4(c uint16) bool {
	switch c {
	case 0x0004, 0x0005, 0x0020, 0x0024, 0x008a, 0x008e, 0x0092, 0xc002, 0xc007, 0xc00c, 0xc011, 0xc033:
		return true
	}
	return false
}

// violations returns the traits of a hello that the claimed family's TLS
// stack never shows at version major (0: a claim without a version). No
// violations means the hello is consistent with the claim.
func violations(f Family, major int, t helloTraits) Reasons {
	if major <= 0 {
		// No version claimed: hold the hello to the current release.
		major = 1 << 16
	}
	var r Reasons
	// Common to every browser family at every version.
	if !t.onlyNullCompression {
		r = r.Add(ReasonCompression)
	}
	if !t.hasALPN {
		r = r.Add(ReasonNoALPN)
	}
	if t.ext&(eEncryptThenMAC|ePostHandshakeAuth|eHeartbeat) != 0 {
		r = r.Add(ReasonForeignExtensions)
	}
	const always = eEMS | eReneg | eGroups | eSigAlgs | eALPN

	// since reports whether the claimed version is at least v.
	since := func(v int) bool { return major >= v }
	switch f {
	case FamilyChromium:
		if since(48) && t.legacyCiphers { // RC4 removed in Chrome 48
			r = r.Add(ReasonLegacyCiphers)
		}
		if t.ext&(eRecordSizeLimit|eDelegatedCreds) != 0 {
			r = r.Add(ReasonForeignExtensions)
		}
		if since(55) {
			// BoringSSL has sent GREASE in cipher suites and extensions
			// since Chrome 55 (RFC 8701 §1 credits it).
			if !t.greaseCipher || !t.greaseExt {
				r = r.Add(ReasonMissingGREASE)
			}
			if t.ext&always != always {
				r = r.Add(ReasonMissingExtensions)
			}
		}
		if since(70) { // TLS 1.3 final shipped in Chrome 70
			if !t.tls13 {
				r = r.Add(ReasonNoTLS13)
			}
			if t.firstCiphers != [3]uint16{0x1301, 0x1302, 0x1303} {
				r = r.Add(ReasonCipherOrder)
			}
		}
	case FamilyFirefox:
		// NSS has never sent GREASE, nor Chromium's ALPS.
		if t.grease {
			r = r.Add(ReasonUnexpectedGREASE)
		}
		if t.ext&eALPS != 0 {
			r = r.Add(ReasonForeignExtensions)
		}
		if since(44) && t.legacyCiphers { // RC4 removed in Firefox 44
			r = r.Add(ReasonLegacyCiphers)
		}
		if since(55) && t.ext&always != always {
			r = r.Add(ReasonMissingExtensions)
		}
		if since(63) { // TLS 1.3 final enabled in Firefox 63
			if !t.tls13 {
				r = r.Add(ReasonNoTLS13)
			}
			// NSS prefers ChaCha20 over AES-256 among TLS 1.3 suites.
			if t.firstCiphers != [3]uint16{0x1301, 0x1303, 0x1302} {
				r = r.Add(ReasonCipherOrder)
			}
		}
	case FamilySafari:
		if t.ext&(eRecordSizeLimit|eDelegatedCreds|eALPS) != 0 {
			r = r.Add(ReasonForeignExtensions)
		}
		if since(10) && t.legacyCiphers { // RC4 removed in Safari 10
			r = r.Add(ReasonLegacyCiphers)
		}
		if since(11) && t.ext&always != always {
			r = r.Add(ReasonMissingExtensions)
		}
		if since(13) { // TLS 1.3 on by default from iOS 12.2 / Safari 12.1
			if !t.tls13 {
				r = r.Add(ReasonNoTLS13)
			}
			if t.firstCiphers != [3]uint16{0x1301, 0x1302, 0x1303} {
				r = r.Add(ReasonCipherOrder)
			}
		}
		if since(14) && (!t.greaseCipher || !t.greaseExt) {
			// Apple's stack sends GREASE from iOS 14 / Safari 14.
			r = r.Add(ReasonMissingGREASE)
		}
	}
	return r
}

// otherFamily returns a browser family other than claimed whose stack a
// hello with traits t fully matches at an unknown version, or FamilyOther. Families are
// tried from the most to the least distinctive traits.
func otherFamily(claimed Family, t helloTraits) Family {
	for _, f := range []Family{FamilyChromium, FamilyFirefox, FamilySafari} {
		if f == claimed {
			continue
		}
		// Held to the current release, with positive markers required
		// too, so that a bare library hello does not pass for a browser.
		if violations(f, 0, t) != 0 {
			continue
		}
		switch f {
		case FamilyChromium:
			return f
		case FamilyFirefox:
			if t.ext&eRecordSizeLimit != 0 {
				return f
			}
		case FamilySafari:
			if t.grease && t.firstCiphers == [3]uint16{0x1301, 0x1302, 0x1303} {
				return f
			}
		}
	}
	return FamilyOther
}
