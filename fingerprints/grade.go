package fingerprints

// Grade rates what an interceptor does to the TLS security of the
// connection it re-originates, on the scale of Durumeric et al., "The
// Security Impact of HTTPS Interception" (NDSS 2017): A optimal, B
// suboptimal, C known attack, F trivially broken. mitmengine's published
// data lost the per-product grades (REFERENCE.md), so mitmwatch derives the
// grade from the cipher suites and versions the interceptor's own hello
// offers: the best an interceptor can negotiate with the site is bounded by
// what it offers, and the worst is what it is willing to accept.
type Grade uint8

// Grades, worst last. GradeNone is the zero value: not graded.
const (
	GradeNone Grade = iota
	GradeA          // no worse than a modern browser
	GradeB          // weaker, not known-broken: TLS 1.3 not offered, or no forward secrecy first
	GradeC          // known-attackable: RC4, 3DES, CBC-only, or TLS 1.1 or lower at most
	GradeF          // broken: export, NULL, anonymous or single-DES suites, or SSLv3 at most
)

func (g Grade) String() string {
	switch g {
	case GradeA:
		return "A"
	case GradeB:
		return "B"
	case GradeC:
		return "C"
	case GradeF:
		return "F"
	}
	return ""
}

// MarshalText encodes the grade as "A", "B", "C", "F" or "".
func (g Grade) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText decodes "A", "B", "C", "F" or "".
func (g *Grade) UnmarshalText(b []byte) error {
	switch string(b) {
	case "A", "a":
		*g = GradeA
	case "B", "b":
		*g = GradeB
	case "C", "c":
		*g = GradeC
	case "F", "f":
		*g = GradeF
	case "":
		*g = GradeNone
	default:
		return errInvalidGrade(string(b))
	}
	return nil
}

type errInvalidGrade string

func (e errInvalidGrade) Error() string {
	return "fingerprints: grade " + string(e) + " is not one of A, B, C, F"
}

// GradeHello grades the TLS a client with this hello can end up with. It
// returns the worst rule that applies, so a hello that offers TLS 1.3 and
// an export suite is F: an attacker picks the export suite.
func GradeHello(h *ClientHello) Grade {
	var (
		broken, attackable, aead bool
		firstSeen, firstPFS      bool
	)
	for _, c := range h.CipherSuites {
		if IsGREASE(c) || isSignalingSuite(c) {
			continue
		}
		p := suiteProperties(c)
		if !firstSeen {
			firstSeen, firstPFS = true, p&suitePFS != 0
		}
		broken = broken || p&suiteBroken != 0
		attackable = attackable || p&suiteWeak != 0
		aead = aead || p&suiteAEAD != 0
	}
	max := h.MaxVersion()
	switch {
	case broken || max <= 0x0300:
		return GradeF
	case attackable || !aead || max < 0x0303:
		return GradeC
	case max < 0x0304 || !firstPFS:
		return GradeB
	}
	return GradeA
}

type suiteProperty uint8

const (
	suiteAEAD   suiteProperty = 1 << iota // GCM, CCM, ChaCha20-Poly1305
	suitePFS                              // ephemeral key exchange (ECDHE, DHE, every TLS 1.3 suite)
	suiteWeak                             // RC4 or 3DES: known attacks (RFC 7465, Sweet32)
	suiteBroken                           // export, NULL encryption, anonymous, single DES
)

// isSignalingSuite reports the renegotiation SCSV (RFC 5746) and the
// fallback SCSV (RFC 7507), which are signals, not ciphers.
func isSignalingSuite(c uint16) bool { return c == 0x00ff || c == 0x5600 }

// suiteProperties classifies a cipher suite from the IANA TLS Cipher Suites
// registry (names such as TLS_RSA_EXPORT_WITH_RC4_40_MD5 for 0x0003).
// Unknown suites get no property.
func suiteProperties(c uint16) suiteProperty {
	switch {
	case c >= 0x1301 && c <= 0x1305: // TLS 1.3 (RFC 8446 §B.4)
		return suiteAEAD | suitePFS
	}
	switch c {
	// Export (40/56-bit), NULL encryption, anonymous key exchange, single DES.
	case 0x0000, 0x0001, 0x0002, 0x0003, 0x0006, 0x0008, 0x0009, 0x000b, 0x000c,
		0x000e, 0x000f, 0x0011, 0x0012, 0x0014, 0x0015, 0x0017, 0x0018, 0x0019,
		0x001a, 0x001b, 0x001e, 0x0022, 0x0026, 0x0027, 0x0028, 0x0029, 0x002a,
		0x002b, 0x002c, 0x002d, 0x002e, 0x0034, 0x003a, 0x003b, 0x0046, 0x0062,
		0x0063, 0x0064, 0x0065, 0x006c, 0x006d, 0x0089, 0x009b, 0x00a6, 0x00a7,
		0x00b0, 0x00b1, 0x00b4, 0x00b5, 0x00b8, 0x00b9, 0xc001, 0xc006, 0xc00b,
		0xc010, 0xc015, 0xc016, 0xc017, 0xc018, 0xc019, 0xc039, 0xc03a, 0xc03b:
		return suiteBroken
	// RC4 (RFC 7465 prohibits it).
	case 0x0004, 0x0005, 0x0020, 0x0024, 0x008a, 0x008e, 0x0092, 0xc002, 0xc00c, 0xc033:
		return suiteWeak
	case 0xc007, 0xc011: // ECDHE with RC4
		return suiteWeak | suitePFS
	// 3DES (64-bit block: Sweet32, CVE-2016-2183).
	case 0x000a, 0x000d, 0x0010, 0x001f, 0x0023, 0x008b, 0x008f, 0x0093, 0xc003,
		0xc00d, 0xc01a, 0xc01b, 0xc01c:
		return suiteWeak
	case 0x0013, 0x0016, 0xc008, 0xc012, 0xc034: // DHE/ECDHE with 3DES
		return suiteWeak | suitePFS
	// AEAD with ephemeral key exchange: ECDHE/DHE with GCM, CCM, ChaCha20.
	case 0xc02b, 0xc02c, 0xc02f, 0xc030, 0x009e, 0x009f, 0x00a2, 0x00a3,
		0xcca8, 0xcca9, 0xccaa, 0xccac, 0xccad, 0xc0ac, 0xc0ad, 0xc0ae, 0xc0af,
		0xc09e, 0xc09f, 0xc0a2, 0xc0a3, 0xd001, 0xd002, 0xd005:
		return suiteAEAD | suitePFS
	// AEAD with static RSA/DH/ECDH/PSK key exchange.
	case 0x009c, 0x009d, 0x00a0, 0x00a1, 0x00a4, 0x00a5, 0x00a8, 0x00a9, 0x00aa,
		0x00ab, 0x00ac, 0x00ad, 0xc02d, 0xc02e, 0xc031, 0xc032, 0xc09c, 0xc09d,
		0xc0a0, 0xc0a1, 0xc0a4, 0xc0a5, 0xc0a8, 0xc0a9, 0xccab, 0xccae:
		return suiteAEAD
	// CBC with ephemeral key exchange.
	case 0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028,
		0x0032, 0x0033, 0x0038, 0x0039, 0x0040, 0x0044, 0x0045, 0x0067, 0x006a,
		0x006b, 0x0087, 0x0088, 0xc035, 0xc036, 0xc037, 0xc038:
		return suitePFS
	}
	return 0
}
