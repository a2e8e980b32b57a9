package fingerprints

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The signature database ships inside the binary; operators add or override
// entries with their own YAML files of the same format.
//
//go:embed signatures/*.yaml
var embeddedSignatures embed.FS

// ErrSignatures wraps every error about a signature file.
var ErrSignatures = errors.New("fingerprints: invalid signature file")

// Product is an interception product: something that terminates a user's
// TLS and opens its own connection to the site.
type Product struct {
	// ID is unique across all files; an operator's entry with the ID of a
	// shipped entry replaces it.
	ID     string      `yaml:"id"`
	Name   string      `yaml:"name"`
	Vendor string      `yaml:"vendor"`
	Kind   ProductKind `yaml:"kind"`
	// Grade overrides the grade mitmwatch derives from the hello.
	Grade Grade `yaml:"grade"`
	// JA4 lists full JA4 fingerprints of the product's ClientHello.
	JA4 []string `yaml:"ja4"`
	// JA4AB lists "a_b" prefixes of JA4 (version, counts, ALPN and cipher
	// hash), for products whose extension list or signature algorithms
	// are not known.
	JA4AB []string `yaml:"ja4_ab"`
	// JA3 lists JA3 hashes (MD5). JA3 depends on extension order, so it
	// suits products that do not shuffle.
	JA3 []string `yaml:"ja3"`
	// Generic marks a product whose hello is that of a common TLS library
	// (mitmproxy's is Python's OpenSSL): a match then needs the request's
	// browser headers to tell interception from a bot.
	Generic bool `yaml:"generic"`
	// Disabled removes a shipped entry of the same ID.
	Disabled bool `yaml:"disabled"`
	// Source cites where the fingerprint comes from. Required.
	Source string `yaml:"source"`
}

// Stack is a known client TLS stack: a browser release range or a library.
// A hello that matches a stack exactly raises confidence in a clean verdict
// (browsers) or names the program behind a mismatch (libraries).
type Stack struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Family is "chromium", "firefox", "safari" or "library".
	Family   string   `yaml:"family"`
	JA4      []string `yaml:"ja4"`
	Disabled bool     `yaml:"disabled"`
	Source   string   `yaml:"source"`
}

// HeaderSignature is an HTTP request header that an interception product
// adds.
type HeaderSignature struct {
	// Name matches a header name exactly (case-insensitively); Contains
	// matches any header name containing it. Exactly one is set.
	Name     string      `yaml:"name"`
	Contains string      `yaml:"contains"`
	Product  string      `yaml:"product"`
	Vendor   string      `yaml:"vendor"`
	Kind     ProductKind `yaml:"kind"`
	Source   string      `yaml:"source"`
}

type signatureFile struct {
	Products []yaml.Node `yaml:"products"`
	Stacks   []yaml.Node `yaml:"stacks"`
	Headers  []yaml.Node `yaml:"headers"`
}

// Database is a parsed, validated signature database. It is immutable and
// safe for concurrent use.
type Database struct {
	products []*Product
	stacks   []*Stack
	byJA4    map[string]*Product
	byJA4AB  map[string]*Product
	byJA3    map[string]*Product
	stackJA4 map[string]*Stack
	// headerName maps a lowercase header name to the product it reveals.
	headerName     map[string]*Product
	headerContains []headerContains
}

type headerContains struct {
	needle  string
	product *Product
}

// DefaultDatabase returns the signature database embedded in mitmwatch.
func DefaultDatabase() (*Database, error) { return LoadDatabase() }

// LoadDatabase returns the embedded database with the given operator files
// applied in order: an entry whose ID matches an earlier one replaces it,
// and `disabled: true` removes it. Errors name the file and line.
func LoadDatabase(files ...string) (*Database, error) {
	b := newDatabaseBuilder()
	names, err := fs.Glob(embeddedSignatures, "signatures/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := embeddedSignatures.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := b.add(path.Base(name), data); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSignatures, err)
		}
		if err := b.add(f, data); err != nil {
			return nil, err
		}
	}
	return b.build()
}

type databaseBuilder struct {
	products map[string]*Product
	stacks   map[string]*Stack
	headers  []*HeaderSignature
}

func newDatabaseBuilder() *databaseBuilder {
	return &databaseBuilder{products: map[string]*Product{}, stacks: map[string]*Stack{}}
}

func (b *databaseBuilder) add(name string, data []byte) error {
	var f signatureFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: %v", ErrSignatures, name, err)
	}
	fail := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrSignatures, name, n.Line, fmt.Sprintf(format, args...))
	}
	for i := range f.Products {
		n := &f.Products[i]
		p := new(Product)
		if err := decodeStrict(n, p); err != nil {
			return fail(n, "%v", err)
		}
		if err := p.validate(); err != nil {
			return fail(n, "product %q: %v", p.ID, err)
		}
		b.products[p.ID] = p
	}
	for i := range f.Stacks {
		n := &f.Stacks[i]
		s := new(Stack)
		if err := decodeStrict(n, s); err != nil {
			return fail(n, "%v", err)
		}
		if err := s.validate(); err != nil {
			return fail(n, "stack %q: %v", s.ID, err)
		}
		b.stacks[s.ID] = s
	}
	for i := range f.Headers {
		n := &f.Headers[i]
		h := new(HeaderSignature)
		if err := decodeStrict(n, h); err != nil {
			return fail(n, "%v", err)
		}
		if err := h.validate(); err != nil {
			return fail(n, "header %q: %v", h.Name+h.Contains, err)
		}
		b.headers = append(b.headers, h)
	}
	return nil
}

// decodeStrict decodes one entry, rejecting unknown keys.
func decodeStrict(n *yaml.Node, v any) error {
	out, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func (b *databaseBuilder) build() (*Database, error) {
	db := &Database{
		byJA4: map[string]*Product{}, byJA4AB: map[string]*Product{}, byJA3: map[string]*Product{},
		stackJA4: map[string]*Stack{}, headerName: map[string]*Product{},
	}
	ids := make([]string, 0, len(b.products))
	for id := range b.products {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := b.products[id]
		if p.Disabled {
			continue
		}
		db.products = append(db.products, p)
		for _, v := range p.JA4 {
			for _, k := range sniVariants(v) {
				db.byJA4[k] = p
			}
		}
		for _, v := range p.JA4AB {
			for _, k := range sniVariants(v) {
				db.byJA4AB[k] = p
			}
		}
		for _, v := range p.JA3 {
			db.byJA3[v] = p
		}
	}
	ids = ids[:0]
	for id := range b.stacks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := b.stacks[id]
		if s.Disabled {
			continue
		}
		db.stacks = append(db.stacks, s)
		for _, v := range s.JA4 {
			for _, k := range sniVariants(v) {
				db.stackJA4[k] = s
			}
		}
	}
	for _, h := range b.headers {
		p := &Product{ID: "header:" + h.Name + h.Contains, Name: h.Product, Vendor: h.Vendor, Kind: h.Kind, Source: h.Source}
		if h.Name != "" {
			db.headerName[strings.ToLower(h.Name)] = p
		} else {
			db.headerContains = append(db.headerContains, headerContains{strings.ToLower(h.Contains), p})
		}
	}
	return db, nil
}

// Products returns the interception products in ID order.
func (db *Database) Products() []*Product { return db.products }

// Stacks returns the known client stacks in ID order.
func (db *Database) Stacks() []*Stack { return db.stacks }

// MatchProduct returns the interception product whose fingerprint the hello
// has: by JA4, then by the JA4 a_b prefix, then by JA3 hash.
func (db *Database) MatchProduct(f *Fingerprints) *Product {
	if p := db.byJA4[f.JA4]; p != nil {
		return p
	}
	if i := strings.LastIndexByte(f.JA4, '_'); i > 0 {
		if p := db.byJA4AB[f.JA4[:i]]; p != nil {
			return p
		}
	}
	return db.byJA3[f.JA3Hash]
}

// MatchStack returns the known stack with this JA4, or nil.
func (db *Database) MatchStack(ja4 string) *Stack { return db.stackJA4[ja4] }

// MatchHeader returns the product a request header name reveals, or nil.
// name may be in any case.
func (db *Database) MatchHeader(name string) *Product {
	var buf [64]byte
	if len(name) > len(buf) {
		return nil
	}
	low := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	if p := db.headerName[string(low)]; p != nil {
		return p
	}
	for _, hc := range db.headerContains {
		if bytes.Contains(low, []byte(hc.needle)) {
			return hc.product
		}
	}
	return nil
}

func (p *Product) validate() error {
	switch {
	case p.ID == "":
		return errors.New("id is required")
	case p.Disabled:
		return nil
	case p.Name == "":
		return errors.New("name is required")
	case !p.Kind.valid():
		return fmt.Errorf("kind %q is not one of antivirus, corporate_proxy, state_middlebox, malware, debugging_proxy, parental_control, cdn", p.Kind)
	case p.Source == "":
		return errors.New("source is required: cite where the fingerprint comes from")
	case len(p.JA4)+len(p.JA4AB)+len(p.JA3) == 0:
		return errors.New("at least one of ja4, ja4_ab, ja3 is required")
	}
	for _, v := range p.JA4 {
		if !validJA4(v) {
			return fmt.Errorf("ja4 %q is not a JA4 fingerprint (t13d1516h2_8daaf6152771_02713d6af862)", v)
		}
	}
	for _, v := range p.JA4AB {
		if !validJA4(v + "_000000000000") {
			return fmt.Errorf("ja4_ab %q is not a JA4 a_b prefix (t13d1516h2_8daaf6152771)", v)
		}
	}
	for _, v := range p.JA3 {
		if !isLowerHex(v, 32) {
			return fmt.Errorf("ja3 %q is not an MD5 hash in lowercase hex", v)
		}
	}
	return nil
}

// is reports whether s is a known stack of the given family ("chromium",
// "firefox", "safari" or "library"); a nil stack is of none.
func (s *Stack) is(family string) bool { return s != nil && s.Family == family }

func (s *Stack) validate() error {
	switch {
	case s.ID == "":
		return errors.New("id is required")
	case s.Disabled:
		return nil
	case s.Name == "":
		return errors.New("name is required")
	case s.Source == "":
		return errors.New("source is required")
	case len(s.JA4) == 0:
		return errors.New("ja4 is required")
	}
	switch s.Family {
	case "chromium", "firefox", "safari", "library":
	default:
		return fmt.Errorf("family %q is not one of chromium, firefox, safari, library", s.Family)
	}
	for _, v := range s.JA4 {
		if !validJA4(v) {
			return fmt.Errorf("ja4 %q is not a JA4 fingerprint", v)
		}
	}
	return nil
}

func (h *HeaderSignature) validate() error {
	switch {
	case (h.Name == "") == (h.Contains == ""):
		return errors.New("exactly one of name and contains is required")
	case len(h.Name) > 64 || len(h.Contains) > 64:
		return errors.New("header names are at most 64 bytes")
	case h.Product == "":
		return errors.New("product is required")
	case !h.Kind.valid():
		return fmt.Errorf("kind %q is not valid", h.Kind)
	case h.Source == "":
		return errors.New("source is required")
	}
	return nil
}

// sniVariants returns a JA4 (or JA4 prefix) as recorded and as the same
// client sends it with the other SNI choice. A client connecting to an IP
// literal sends no server_name extension: its JA4 has "i" instead of "d"
// and one extension fewer, while the hashed sections, which leave SNI out,
// stay the same. A fingerprint captured one way must match the other.
func sniVariants(ja4 string) []string {
	if len(ja4) < 10 {
		return []string{ja4}
	}
	n := int(ja4[6]-'0')*10 + int(ja4[7]-'0')
	other := []byte(ja4)
	switch ja4[3] {
	case 'd':
		if n == 0 {
			return []string{ja4}
		}
		other[3], n = 'i', n-1
	case 'i':
		if n >= 99 {
			return []string{ja4}
		}
		other[3], n = 'd', n+1
	default:
		return []string{ja4}
	}
	other[6], other[7] = byte('0'+n/10), byte('0'+n%10)
	return []string{ja4, string(other)}
}

// validJA4 checks the shape of a JA4 fingerprint: a 10-character a part,
// then two 12-digit lowercase hex parts.
func validJA4(s string) bool {
	a, rest, ok := strings.Cut(s, "_")
	if !ok || len(a) != 10 || (a[0] != 't' && a[0] != 'q' && a[0] != 'd') {
		return false
	}
	b, c, ok := strings.Cut(rest, "_")
	return ok && isLowerHex(b, 12) && isLowerHex(c, 12)
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}
