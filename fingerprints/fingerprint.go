package fingerprints

// Fingerprints holds every fingerprint of one ClientHello. The JSON names
// are the ones mitmwatch uses in its endpoint, CLI and logs.
type Fingerprints struct {
	// JA3 is the Salesforce JA3 string:
	// SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats.
	JA3 string `json:"ja3"`
	// JA3Hash is the MD5 of JA3, in lowercase hex.
	JA3Hash string `json:"ja3_hash"`
	// JA3N is JA3 with the extension list sorted numerically, which makes
	// it stable under Chrome's per-connection extension shuffling.
	JA3N string `json:"ja3n"`
	// JA3NHash is the MD5 of JA3N.
	JA3NHash string `json:"ja3n_hash"`
	// JA4 is FoxIO's JA4 (sorted lists, hashed).
	JA4 string `json:"ja4"`
	// JA4R is JA4_r: sorted lists, not hashed.
	JA4R string `json:"ja4_r"`
	// JA4O is JA4_o: wire order, hashed.
	JA4O string `json:"ja4_o"`
	// JA4RO is JA4_ro: wire order, not hashed.
	JA4RO string `json:"ja4_ro"`
}
