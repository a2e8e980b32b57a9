package fingerprints

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	utls "github.com/refraction-networking/utls"
)

// User-Agents as the browsers send them (Chrome's reduced UA keeps only
// the major version; Firefox's rv: mirrors its version).
func chromeUA(major int) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36", major)
}
func edgeUA(major int) string { return chromeUA(major) + fmt.Sprintf(" Edg/%d.0.0.0", major) }
func firefoxUA(major int) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:%d.0) Gecko/20100101 Firefox/%d.0", major, major)
}
func iosUA(major int) string {
	return fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS %d_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%d.0 Mobile/15E148 Safari/604.1", major, major)
}
func safariUA(major int) string {
	return fmt.Sprintf("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/%d.0 Safari/605.1.15", major)
}

// browserHeaders are the headers every current browser sends on a page
// load, which interceptors pass through.
func browserHeaders(chromium bool) http.Header {
	h := http.Header{}
	h.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	h.Set("Accept-Language", "en-US,en;q=0.9")
	h.Set("Sec-Fetch-Site", "none")
	h.Set("Sec-Fetch-Mode", "navigate")
	h.Set("Sec-Fetch-Dest", "document")
	h.Set("Upgrade-Insecure-Requests", "1")
	if chromium {
		h.Set("Sec-CH-UA", `"Chromium";v="133", "Not(A:Brand";v="99", "Google Chrome";v="133"`)
	}
	return h
}

// parrot is a utls browser parrot with the User-Agent of that browser.
type parrot struct {
	id     utls.ClientHelloID
	family Family
	ua     string
}

// honestParrots pairs each utls v1.8.2 browser parrot that builds without
// a session with the User-Agent of the browser it imitates. The PSK
// variants need a resumed session and are left out. 360 Browser 7.5 is a
// pre-GREASE Chromium fork; it is claimed as Chrome 45, its engine era.
var honestParrots = []parrot{
	{utls.HelloChrome_58, FamilyChromium, chromeUA(58)},
	{utls.HelloChrome_62, FamilyChromium, chromeUA(62)},
	{utls.HelloChrome_70, FamilyChromium, chromeUA(70)},
	{utls.HelloChrome_72, FamilyChromium, chromeUA(72)},
	{utls.HelloChrome_83, FamilyChromium, chromeUA(83)},
	{utls.HelloChrome_87, FamilyChromium, chromeUA(87)},
	{utls.HelloChrome_96, FamilyChromium, chromeUA(96)},
	{utls.HelloChrome_100, FamilyChromium, chromeUA(100)},
	{utls.HelloChrome_102, FamilyChromium, chromeUA(102)},
	{utls.HelloChrome_106_Shuffle, FamilyChromium, chromeUA(106)},
	{utls.HelloChrome_115_PQ, FamilyChromium, chromeUA(115)},
	{utls.HelloChrome_120, FamilyChromium, chromeUA(120)},
	{utls.HelloChrome_120_PQ, FamilyChromium, chromeUA(120)},
	{utls.HelloChrome_131, FamilyChromium, chromeUA(131)},
	{utls.HelloChrome_133, FamilyChromium, chromeUA(133)},
	{utls.HelloEdge_85, FamilyChromium, edgeUA(85)},
	{utls.HelloEdge_106, FamilyChromium, edgeUA(106)},
	{utls.Hello360_11_0, FamilyChromium, chromeUA(78)},
	{utls.HelloQQ_11_1, FamilyChromium, chromeUA(94) + " QQBrowser/11.1.0.0"},
	{utls.HelloFirefox_55, FamilyFirefox, firefoxUA(55)},
	{utls.HelloFirefox_56, FamilyFirefox, firefoxUA(56)},
	{utls.HelloFirefox_63, FamilyFirefox, firefoxUA(63)},
	{utls.HelloFirefox_65, FamilyFirefox, firefoxUA(65)},
	{utls.HelloFirefox_99, FamilyFirefox, firefoxUA(99)},
	{utls.HelloFirefox_102, FamilyFirefox, firefoxUA(102)},
	{utls.HelloFirefox_105, FamilyFirefox, firefoxUA(105)},
	{utls.HelloFirefox_120, FamilyFirefox, firefoxUA(120)},
	{utls.HelloIOS_11_1, FamilySafari, iosUA(11)},
	{utls.HelloIOS_12_1, FamilySafari, iosUA(12)},
	{utls.HelloIOS_13, FamilySafari, iosUA(13)},
	{utls.HelloIOS_14, FamilySafari, iosUA(14)},
	{utls.HelloSafari_16_0, FamilySafari, safariUA(16)},
}

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := NewClassifier(ClassifierConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func classifyRaw(t testing.TB, c *Classifier, handshake []byte, req Request) Verdict {
	t.Helper()
	h, err := ParseHandshake(handshake)
	if err != nil {
		t.Fatal(err)
	}
	f := h.Fingerprints()
	return c.Classify(h, &f, &req)
}

func TestHonestBrowserParrotsAreClean(t *testing.T) {
	c := newTestClassifier(t)
	for _, p := range honestParrots {
		t.Run(p.id.Str(), func(t *testing.T) {
			for _, headers := range []http.Header{nil, browserHeaders(p.family == FamilyChromium)} {
				v := classifyRaw(t, c, utlsHello(t, p.id, "www.example.com"), Request{UserAgent: p.ua, Header: headers, ProtoMajor: 2})
				if v.Verdict != OutcomeClean {
					t.Errorf("with %d headers: verdict %v, reasons %q", len(headers), v.Verdict, v.Reasons.Strings())
				}
				if v.Client.Family != p.family {
					t.Errorf("claimed family %v, want %v", v.Client.Family, p.family)
				}
			}
		})
	}
}

// goHello returns the ClientHello of Go's crypto/tls client with its
// default configuration: the hello of a Go-based proxy or a Go bot.
func goHello(t testing.TB) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		conn := tls.Client(b, &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_ = conn.Handshake()
		b.Close()
	}()
	var buf bytes.Buffer
	tmp := make([]byte, 4096)
	for {
		_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := a.Read(tmp)
		buf.Write(tmp[:n])
		if msg, _, rerr := reassemble(buf.Bytes()); rerr == nil {
			return msg
		}
		if err != nil {
			t.Fatalf("reading Go's hello: %v", err)
		}
	}
}

func TestMismatchedStackIsInterceptedWithBrowserHeadersAndSpoofedWithout(t *testing.T) {
	c := newTestClassifier(t)
	goRaw := goHello(t)
	tests := []struct {
		name    string
		hello   []byte
		ua      string
		headers http.Header
		want    Outcome
		reason  Reason
	}{
		{"Go stack under Chrome UA with browser headers", goRaw, chromeUA(133), browserHeaders(true), OutcomeIntercepted, ReasonMissingGREASE},
		{"Go stack under Chrome UA without browser headers", goRaw, chromeUA(133), nil, OutcomeSpoofed, ReasonNoBrowserHeaders},
		{"Go stack under Firefox UA with browser headers", goRaw, firefoxUA(128), browserHeaders(false), OutcomeIntercepted, ReasonCipherOrder},
		{"Go stack under Safari UA without headers", goRaw, iosUA(17), nil, OutcomeSpoofed, ReasonMissingGREASE},
		{"Go stack with its own UA is an honest program", goRaw, "Go-http-client/2.0", nil, OutcomeClean, ReasonNotABrowser},
		{"Firefox hello under Chrome UA with browser headers is a UA switcher", utlsHello(t, utls.HelloFirefox_120, "www.example.com"), chromeUA(133), browserHeaders(false), OutcomeUnknown, ReasonOtherBrowserStack},
		{"Firefox parrot under Chrome UA without headers is a bot", utlsHello(t, utls.HelloFirefox_120, "www.example.com"), chromeUA(133), nil, OutcomeSpoofed, ReasonNoBrowserHeaders},
		{"Chrome hello under Firefox UA with browser headers is a UA switcher", utlsHello(t, utls.HelloChrome_133, "www.example.com"), firefoxUA(128), browserHeaders(false), OutcomeUnknown, ReasonOtherBrowserStack},
		{"okhttp parrot under Chrome UA without headers", utlsHello(t, utls.HelloAndroid_11_OkHttp, "www.example.com"), chromeUA(133), nil, OutcomeSpoofed, ReasonMissingGREASE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := classifyRaw(t, c, tt.hello, Request{UserAgent: tt.ua, Header: tt.headers, ProtoMajor: 2})
			if v.Verdict != tt.want {
				t.Errorf("verdict %v, want %v; reasons %q", v.Verdict, tt.want, v.Reasons.Strings())
			}
			if !v.Reasons.Has(tt.reason) {
				t.Errorf("reasons %q lack %q", v.Reasons.Strings(), tt.reason)
			}
			if v.Verdict == OutcomeIntercepted && v.Grade == GradeNone {
				t.Error("intercepted verdict without a grade")
			}
		})
	}
}

// kazakhstanHello rebuilds the 2019 Kazakhstan interception system's
// ClientHello from the lists mitmengine recorded (REFERENCE.md; record
// kzmitm-20190719): TLS 1.0 record, TLS 1.2 hello, 13 suites, no ALPN.
func kazakhstanHello() testHello {
	return testHello{
		recordVersion: 0x0301, version: 0x0303,
		ciphers: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x0033, 0x0039, 0x002f, 0x0035, 0x00ff},
		exts: []Extension{
			extSNI("www.youtube.com"), extPointFormats(0, 1, 2), extGroups(0x001d, 0x0017, 0x001e, 0x0019, 0x0018),
			extEmpty(0x0023), extEmpty(0x0016), extEmpty(0x0017),
			extSigAlgs(0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601),
		},
	}
}

func TestKazakhstanInterceptionSystemIsNamed(t *testing.T) {
	c := newTestClassifier(t)
	h := mustParse(t, kazakhstanHello().records(0))
	f := h.Fingerprints()
	if f.JA3Hash != "3859eefff506be3eb74171d82728eb4d" {
		t.Fatalf("test premise: JA3 %s, mitmengine recorded 3859eefff506be3eb74171d82728eb4d", f.JA3Hash)
	}
	if f.JA4[:10] != "t12d130700" {
		t.Fatalf("test premise: JA4 %s, REFERENCE.md says it starts t12d130700", f.JA4)
	}
	for _, headers := range []http.Header{browserHeaders(true), nil} {
		v := c.Classify(h, &f, &Request{UserAgent: chromeUA(75), Header: headers, ProtoMajor: 1})
		if v.Verdict != OutcomeIntercepted || v.Kind != KindStateMiddlebox || v.Confidence < 0.9 {
			t.Errorf("headers %d: verdict %v kind %q confidence %.2f product %q", len(headers), v.Verdict, v.Kind, v.Confidence, v.Product)
		}
		if v.Grade != GradeB {
			t.Errorf("grade %v, want B (TLS 1.2 only, forward secrecy first)", v.Grade)
		}
	}
}

func TestInjectedHeaderNamesProductEvenWhenHelloIsClean(t *testing.T) {
	c := newTestClassifier(t)
	hdr := browserHeaders(true)
	hdr.Set("X-BlueCoat-Via", "1a2b3c")
	v := classifyRaw(t, c, utlsHello(t, utls.HelloChrome_133, "www.example.com"), Request{UserAgent: chromeUA(133), Header: hdr, ProtoMajor: 2})
	if v.Verdict != OutcomeIntercepted || v.Product == "" || v.Kind != KindCorporateProxy || !v.Reasons.Has(ReasonInjectedHeader) {
		t.Errorf("verdict %v product %q kind %q reasons %q", v.Verdict, v.Product, v.Kind, v.Reasons.Strings())
	}
	cdn := browserHeaders(true)
	cdn.Set("X-Akamai-Edgescape", "georegion=1")
	v = classifyRaw(t, c, utlsHello(t, utls.HelloChrome_133, "www.example.com"), Request{UserAgent: chromeUA(133), Header: cdn, ProtoMajor: 2})
	if v.Verdict != OutcomeClean || !v.Reasons.Has(ReasonCDNHeader) {
		t.Errorf("CDN header: verdict %v reasons %q; a CDN header alone must not make a verdict", v.Verdict, v.Reasons.Strings())
	}
}

func TestNoHelloIsUnknown(t *testing.T) {
	c := newTestClassifier(t)
	v := c.Classify(nil, nil, &Request{UserAgent: chromeUA(133), Header: browserHeaders(true)})
	if v.Verdict != OutcomeUnknown || !v.Reasons.Has(ReasonNoHello) {
		t.Errorf("verdict %v reasons %q", v.Verdict, v.Reasons.Strings())
	}
}

func TestHTTP1DowngradeIsAWeakSignOnly(t *testing.T) {
	c := newTestClassifier(t)
	// A genuine Chrome hello over HTTP/1.1 stays clean; the downgrade is
	// only noted when the hello itself did not offer h2.
	v := classifyRaw(t, c, utlsHello(t, utls.HelloChrome_133, "www.example.com"), Request{UserAgent: chromeUA(133), Header: browserHeaders(true), ProtoMajor: 1, ServerOffersH2: true})
	if v.Verdict != OutcomeClean || v.Reasons.Has(ReasonHTTP1Downgrade) {
		t.Errorf("verdict %v reasons %q", v.Verdict, v.Reasons.Strings())
	}
	v = classifyRaw(t, c, goHelloNoH2(t), Request{UserAgent: chromeUA(133), Header: browserHeaders(true), ProtoMajor: 1, ServerOffersH2: true})
	if v.Verdict != OutcomeIntercepted || !v.Reasons.Has(ReasonHTTP1Downgrade) {
		t.Errorf("verdict %v reasons %q", v.Verdict, v.Reasons.Strings())
	}
}

// goHelloNoH2 is Go's hello offering only HTTP/1.1, as a proxy that
// downgrades would send.
func goHelloNoH2(t testing.TB) []byte {
	h, err := ParseHandshake(goHello(t))
	if err != nil {
		t.Fatal(err)
	}
	th := helloFrom(h)
	for i, e := range th.exts {
		if e.Type == ExtALPN {
			th.exts[i] = extALPN("http/1.1")
		}
	}
	return th.handshake()
}

// helloFrom turns a parsed hello back into a builder, so tests can vary it.
func helloFrom(h *ClientHello) testHello {
	return testHello{
		version: h.Version, sessionID: h.SessionID,
		ciphers:     slices.Clone(h.CipherSuites),
		compression: slices.Clone(h.CompressionMethods),
		exts:        slices.Clone(h.Extensions),
	}
}

var greaseValues = func() []uint16 {
	var out []uint16
	for i := range 16 {
		out = append(out, uint16(i)<<12|0x0a00|uint16(i)<<4|0x0a)
	}
	return out
}()

// reshuffle re-encodes h as Chrome would send it on another connection:
// extensions in a new random order (pre_shared_key stays last, RFC 8446
// §4.2.11) and every GREASE value drawn anew.
func reshuffle(h *ClientHello, rng *rand.Rand) []byte {
	grease := func(v uint16) uint16 {
		if IsGREASE(v) {
			return greaseValues[rng.IntN(16)]
		}
		return v
	}
	th := helloFrom(h)
	for i := range th.ciphers {
		th.ciphers[i] = grease(th.ciphers[i])
	}
	var psk *Extension
	exts := th.exts[:0:0]
	used := map[uint16]bool{}
	for _, e := range th.exts {
		data := slices.Clone(e.Data)
		switch e.Type {
		case ExtSupportedGroups, ExtSignatureAlgorithms:
			for i := 2; i+1 < len(data); i += 2 {
				binary.BigEndian.PutUint16(data[i:], grease(binary.BigEndian.Uint16(data[i:])))
			}
		case ExtSupportedVersions:
			for i := 1; i+1 < len(data); i += 2 {
				binary.BigEndian.PutUint16(data[i:], grease(binary.BigEndian.Uint16(data[i:])))
			}
		case ExtKeyShare:
			for i := 2; i+4 <= len(data); {
				binary.BigEndian.PutUint16(data[i:], grease(binary.BigEndian.Uint16(data[i:])))
				i += 4 + int(binary.BigEndian.Uint16(data[i+2:]))
			}
		}
		typ := e.Type
		if IsGREASE(typ) {
			for typ = grease(typ); used[typ]; typ = grease(typ) {
			}
		}
		used[typ] = true
		ne := Extension{Type: typ, Data: data}
		if typ == 0x0029 {
			psk = &ne
			continue
		}
		exts = append(exts, ne)
	}
	rng.Shuffle(len(exts), func(i, j int) { exts[i], exts[j] = exts[j], exts[i] })
	if psk != nil {
		exts = append(exts, *psk)
	}
	th.exts = exts
	return th.handshake()
}

func TestChromiumHellosStayCleanUnderShuffleAndNewGREASE(t *testing.T) {
	c := newTestClassifier(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range honestParrots {
		if p.family != FamilyChromium {
			continue
		}
		t.Run(p.id.Str(), func(t *testing.T) {
			h, err := ParseHandshake(utlsHello(t, p.id, "www.example.com"))
			if err != nil {
				t.Fatal(err)
			}
			want := h.Fingerprints()
			for i := range 100 {
				raw := reshuffle(h, rng)
				v := classifyRaw(t, c, raw, Request{UserAgent: p.ua, Header: browserHeaders(true), ProtoMajor: 2})
				if v.Verdict != OutcomeClean {
					t.Fatalf("shuffle %d: verdict %v reasons %q", i, v.Verdict, v.Reasons.Strings())
				}
				got, _ := ParseHandshake(raw)
				if got.JA4() != want.JA4 {
					t.Fatalf("shuffle %d changed JA4: %s vs %s", i, got.JA4(), want.JA4)
				}
			}
		})
	}
}

// Every Chromium-family hello the project captured (real Chromium 156 and
// the utls parrots as sent over the wire), reshuffled and re-GREASEd 100
// times under the User-Agent it was captured with, stays clean.
func TestCapturedChromiumHellosStayCleanUnderShuffleAndNewGREASE(t *testing.T) {
	c := newTestClassifier(t)
	rng := rand.New(rand.NewPCG(3, 4))
	files, err := filepath.Glob(filepath.Join("..", "testdata", "clienthello", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		var meta struct {
			Name      string `json:"name"`
			Family    string `json:"family"`
			UserAgent string `json:"user_agent"`
			Via       string `json:"via"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Family != "chromium" || meta.Via != "direct" || strings.Contains(meta.Name, "360-7.5") {
			continue // 360 Browser 7.5 predates GREASE; see honestParrots
		}
		n++
		ua := strings.Replace(meta.UserAgent, "HeadlessChrome/", "Chrome/", 1)
		t.Run(meta.Name, func(t *testing.T) {
			raw, err := readHexFile(strings.TrimSuffix(f, ".json") + ".hex")
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := Fingerprint(raw)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				v := classifyRaw(t, c, reshuffle(h, rng), Request{UserAgent: ua, Header: browserHeaders(true), ProtoMajor: 2})
				if v.Verdict != OutcomeClean || !v.Client.Browser {
					t.Fatalf("shuffle %d: verdict %v reasons %q", i, v.Verdict, v.Reasons.Strings())
				}
			}
		})
	}
	if n < 20 {
		t.Errorf("only %d Chromium-family captures in testdata", n)
	}
}

func TestNewestParrotsStayCleanUnderFutureVersions(t *testing.T) {
	c := newTestClassifier(t)
	newest := []struct {
		id     utls.ClientHelloID
		family Family
		ua     func(int) string
		major  int
	}{
		{utls.HelloChrome_133, FamilyChromium, chromeUA, 133},
		{utls.HelloEdge_106, FamilyChromium, edgeUA, 106},
		{utls.HelloFirefox_120, FamilyFirefox, firefoxUA, 120},
		{utls.HelloSafari_16_0, FamilySafari, safariUA, 16},
		{utls.HelloIOS_14, FamilySafari, iosUA, 14},
	}
	for _, n := range newest {
		for _, ahead := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s+%d", n.id.Str(), ahead), func(t *testing.T) {
				v := classifyRaw(t, c, utlsHello(t, n.id, "www.example.com"), Request{UserAgent: n.ua(n.major + ahead), Header: browserHeaders(n.family == FamilyChromium), ProtoMajor: 2})
				if v.Verdict != OutcomeClean {
					t.Errorf("verdict %v reasons %q", v.Verdict, v.Reasons.Strings())
				}
			})
		}
	}
}

func TestClassifierUsesSwappedDatabase(t *testing.T) {
	c := newTestClassifier(t)
	goRaw := goHello(t)
	h, _ := ParseHandshake(goRaw)
	f := h.Fingerprints()
	req := Request{UserAgent: chromeUA(133), Header: browserHeaders(true)}
	if v := c.Classify(h, &f, &req); v.Product != "" {
		t.Fatalf("premise: Go's hello already names %q", v.Product)
	}
	db, err := loadDatabaseFromStrings(t, fmt.Sprintf(`
products:
  - id: acme-proxy
    name: ACME Secure Web Gateway
    vendor: ACME
    kind: corporate_proxy
    ja4: [%s]
    source: captured from our own gateway with mitmwatch fingerprint, 2026-11-23
`, f.JA4))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDatabase(db)
	if v := c.Classify(h, &f, &req); v.Verdict != OutcomeIntercepted || v.Product != "ACME Secure Web Gateway" || v.Confidence < 0.9 {
		t.Errorf("after swap: verdict %v product %q confidence %.2f", v.Verdict, v.Product, v.Confidence)
	}
}

func TestFingerprintsWithoutHelloUseExactMatchesOnly(t *testing.T) {
	c := newTestClassifier(t)
	chrome := Fingerprints{JA4: "t13d1516h2_8daaf6152771_02713d6af862"}
	mitm := Fingerprints{JA4: "t13d2911h2_c36778b98fa1_1f22a2ca17c4"}
	unknown := Fingerprints{JA4: "t13d0101h2_000000000000_000000000000"}
	tests := []struct {
		name    string
		f       *Fingerprints
		ua      string
		headers http.Header
		want    Outcome
	}{
		{"known Chrome JA4 under Chrome UA", &chrome, chromeUA(131), browserHeaders(true), OutcomeClean},
		{"mitmproxy JA4 with browser headers", &mitm, chromeUA(156), browserHeaders(true), OutcomeIntercepted},
		{"mitmproxy JA4 without browser headers is not named interception", &mitm, chromeUA(156), nil, OutcomeUnknown},
		{"unknown JA4 cannot be judged without the hello", &unknown, chromeUA(156), browserHeaders(true), OutcomeUnknown},
		{"nothing at all", nil, chromeUA(156), browserHeaders(true), OutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := c.Classify(nil, tt.f, &Request{UserAgent: tt.ua, Header: tt.headers})
			if v.Verdict != tt.want {
				t.Errorf("verdict %v, want %v; reasons %q", v.Verdict, tt.want, v.Reasons.Strings())
			}
		})
	}
}

func TestRequestFromHTTPReadsUserAgentAndClientHintsWhateverTheirCase(t *testing.T) {
	// Browsers send client hints in lower case over HTTP/2 and in mixed
	// case over HTTP/1.1; net/http canonicalises both when it parses.
	cases := []struct {
		name string
		wire string
	}{
		{"lower_case", "GET / HTTP/1.1\r\nhost: a.example\r\nuser-agent: UA/1\r\nsec-ch-ua: \"Chromium\";v=\"131\"\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: \"Linux\"\r\n\r\n"},
		{"as_chrome_writes_them", "GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: UA/1\r\nSec-CH-UA: \"Chromium\";v=\"131\"\r\nSec-CH-UA-Mobile: ?0\r\nSec-CH-UA-Platform: \"Linux\"\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.wire)))
			if err != nil {
				t.Fatal(err)
			}
			got := RequestFromHTTP(r, true)
			want := Request{UserAgent: "UA/1", SecCHUA: `"Chromium";v="131"`, SecCHUAMobile: "?0", SecCHUAPlatform: `"Linux"`, Header: r.Header, ProtoMajor: 1, ServerOffersH2: true}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("RequestFromHTTP = %+v, want %+v", got, want)
			}
		})
	}
}
