package server

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The configuration is decoded by walking the yaml.Node tree against the
// Go types rather than with yaml's own Decode, for three reasons: every
// error carries the full key path (alerts.rules[0].min_share) and not only
// a line; decoding goes on after an error, so one run reports every
// problem; and unknown keys get a suggestion. The walk follows yaml v3's
// rules for names (the yaml tag, else the lower-cased field name) so the
// structs stay ordinary yaml structs that yaml.Marshal prints back.

// maxConfigNodes bounds the nodes one decode visits, aliases expanded, so
// that a file of nested aliases ("billion laughs") cannot exhaust memory.
const maxConfigNodes = 100_000

var (
	durationType = reflect.TypeFor[time.Duration]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
)

// yamlErrorRE matches the "yaml: line N: message" of a YAML syntax error.
var yamlErrorRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// decodeYAML decodes data over c and records in lines the line of every key
// it sets. It returns every problem found.
func decodeYAML(data []byte, c *Config, lines map[string]int) []*ConfigError {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []*ConfigError{syntaxError(data, err)}
	}
	if doc.Kind == 0 { // empty or only comments
		return nil
	}
	root := doc.Content[0]
	d := &decoder{lines: lines, budget: maxConfigNodes}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return []*ConfigError{{Line: root.Line, Err: wrongTypef("the configuration must be a mapping (key: value), not %s", describe(root))}}
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	return d.errs
}

// syntaxError turns a yaml parse error into a ConfigError with its line.
//
// yaml v3 gives the line of the enclosing construct when it has one (a
// bad key in a mapping is reported at the mapping's first line), or none.
// The line that matters is the first one at which the document stops
// parsing: the smallest prefix of whole lines that fails with the same
// message. Only a broken file pays for this search (log2(lines) parses).
func syntaxError(data []byte, err error) *ConfigError {
	m := yamlErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &ConfigError{Err: fmt.Errorf("yaml syntax: %s", err)}
	}
	line, _ := strconv.Atoi(m[1])
	lines := strings.SplitAfter(string(data), "\n")
	failsAt := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		p := yamlErrorRE.FindStringSubmatch(fmt.Sprint(err))
		return err != nil && p != nil && p[2] == m[2]
	}
	// Binary search: once the bad line is in, longer prefixes fail too.
	if k := sort.Search(len(lines)+1, failsAt); k <= len(lines) && k > 0 {
		line = k
	}
	return &ConfigError{Line: line, Err: fmt.Errorf("yaml syntax: %s", m[2])}
}

type decoder struct {
	errs   []*ConfigError
	lines  map[string]int
	budget int
	fields map[reflect.Type]map[string][]int // yamlFields, cached
}

// fieldsOf is yamlFields(t), computed once per type and decode.
func (d *decoder) fieldsOf(t reflect.Type) map[string][]int {
	if f, ok := d.fields[t]; ok {
		return f
	}
	if d.fields == nil {
		d.fields = map[reflect.Type]map[string][]int{}
	}
	f := yamlFields(t)
	d.fields[t] = f
	return f
}

func (d *decoder) fail(n *yaml.Node, key string, err error) {
	d.errs = append(d.errs, &ConfigError{Line: n.Line, Key: key, Err: err})
}

func (d *decoder) wrongType(n *yaml.Node, key, want string) {
	hint := ""
	if want == "a list" && n.Kind == yaml.ScalarNode {
		hint = fmt.Sprintf(" (write [%s])", n.Value)
	}
	d.fail(n, key, wrongTypef("want %s, got %s%s", want, describe(n), hint))
}

// decode sets v from n. A null value empties a scalar or a list and leaves
// a section (struct) as it is, so that a section whose keys are all
// commented out keeps its defaults.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail(n, key, fmt.Errorf("more than %d values once aliases are expanded", maxConfigNodes))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.decode(n.Alias, v, key)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		if v.Kind() != reflect.Struct || v.Type() == prefixType {
			v.SetZero()
		}
		return
	}
	switch t := v.Type(); {
	case t == durationType:
		d.duration(n, v, key)
		return
	case t == prefixType:
		if n.Kind != yaml.ScalarNode {
			d.wrongType(n, key, "a CIDR such as 10.0.0.0/8")
			return
		}
		p, err := parseCIDR(n.Value)
		if err != nil {
			d.fail(n, key, err)
			return
		}
		v.Set(reflect.ValueOf(p))
		return
	}
	if v.CanAddr() {
		switch u := v.Addr().Interface().(type) {
		case yaml.Unmarshaler:
			if err := n.Decode(u); err != nil {
				d.fail(n, key, errors.New(strings.TrimPrefix(err.Error(), "yaml: ")))
			}
			return
		case encoding.TextUnmarshaler:
			if n.Kind != yaml.ScalarNode {
				d.wrongType(n, key, "a string")
				return
			}
			if err := u.UnmarshalText([]byte(n.Value)); err != nil {
				d.fail(n, key, err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), key)
	case reflect.Struct:
		d.mapping(n, v, key)
	case reflect.Slice:
		d.sequence(n, v, key)
	case reflect.Map:
		d.dict(n, v, key)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.wrongType(n, key, "a string")
			return
		}
		// Any scalar is a string: "country: NO" is Norway, "asn_org: 1234"
		// is text.
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.wrongType(n, key, "true or false")
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.wrongType(n, key, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.wrongType(n, key, "a whole number")
			return
		}
		if v.OverflowInt(i) {
			d.fail(n, key, fmt.Errorf("%d is out of range", i))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.wrongType(n, key, "a whole number")
			return
		}
		if i < 0 || v.OverflowUint(uint64(i)) {
			d.fail(n, key, fmt.Errorf("%d is out of range (0 to %d)", i, maxUint(v.Type())))
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || n.Decode(&f) != nil {
			d.wrongType(n, key, "a number")
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, key, fmt.Errorf("%s is not a finite number", n.Value))
			return
		}
		v.SetFloat(f)
	default:
		// Only reachable if a config struct gains a field of a new kind:
		// a programming error, reported rather than panicking.
		d.fail(n, key, fmt.Errorf("server: config field of kind %s cannot be decoded", v.Kind()))
	}
}

func maxUint(t reflect.Type) uint64 {
	return math.MaxUint64 >> (64 - t.Bits())
}

// duration decodes a duration written with its unit. A bare number is
// refused: "15" would be 15 ns to time.ParseDuration's callers and 15 s to
// a reader.
func (d *decoder) duration(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.ScalarNode {
		d.wrongType(n, key, "a duration such as 15s or 5m")
		return
	}
	if tag := n.ShortTag(); tag == "!!int" || tag == "!!float" {
		d.fail(n, key, wrongTypef("want a duration with its unit, such as %ss, got the number %s", n.Value, n.Value))
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, key, fmt.Errorf("%q is not a duration such as 15s, 5m or 1h30m", truncate(n.Value)))
		return
	}
	v.SetInt(int64(dur))
}

// mapping decodes a YAML mapping into the struct v. Merge keys (<<) apply
// first, so that the mapping's own keys win as YAML says.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, key, "a mapping (key: value)")
		return
	}
	fields := d.fieldsOf(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, key)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			continue
		}
		name := k.Value
		path := joinKey(key, name)
		if first, dup := seen[name]; dup {
			d.fail(k, path, fmt.Errorf("duplicate key (first at line %d)", first))
			continue
		}
		seen[name] = k.Line
		idx, ok := fields[name]
		if !ok {
			d.fail(k, path, unknownKey(name, key, v.Type()))
			continue
		}
		d.lines[path] = k.Line
		d.decode(val, v.FieldByIndex(idx), path)
	}
}

// merge applies the value of a merge key: a mapping, an alias of one, or a
// list of them.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, key string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail(n, key, fmt.Errorf("more than %d values once aliases are expanded", maxConfigNodes))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.mapping(n, v, key)
	case yaml.SequenceNode:
		for _, m := range n.Content {
			d.merge(m, v, key)
		}
	default:
		d.wrongType(n, key, "a mapping to merge (<<)")
	}
}

// sequence decodes a YAML list into the slice v, replacing its content.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.SequenceNode {
		d.wrongType(n, key, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, el := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		d.lines[path] = el.Line
		d.decode(el, s.Index(i), path)
	}
	v.Set(s)
}

// dict decodes a YAML mapping into the map v (string keys), replacing its
// content.
func (d *decoder) dict(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, key, "a mapping (key: value)")
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, key, fmt.Errorf("server: config map with %s keys cannot be decoded", v.Type().Key()))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		path := joinKey(key, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.wrongType(k, path, "a string key")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, path, fmt.Errorf("duplicate key (first at line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		d.lines[path] = k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, path)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// yamlFields maps the yaml names of t's fields to their index, following
// yaml v3: the tag's name, else the field name lower-cased; "-" skips;
// ",inline" lifts an embedded struct's fields.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
			for n, idx := range yamlFields(f.Type) {
				out[n] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// unknownKey says that name is not a key of the section at parent (of type
// t) and suggests what was probably meant: a sibling one or two edits away,
// or the same name in another section.
func unknownKey(name, parent string, t reflect.Type) error {
	fields := yamlFields(t)
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Errorf("%w (did you mean %s?)", ErrUnknownKey, joinKey(parent, best))
	}
	var elsewhere []string
	for _, p := range configKeyPaths(reflect.TypeFor[Config]()) {
		if p == name || strings.HasSuffix(p, "."+name) {
			elsewhere = append(elsewhere, p)
		}
	}
	if len(elsewhere) > 0 {
		return fmt.Errorf("%w here (did you mean %s?)", ErrUnknownKey, strings.Join(elsewhere, " or "))
	}
	where := "the top level"
	if parent != "" {
		where = parent
	}
	return fmt.Errorf("%w; %s has: %s", ErrUnknownKey, where, strings.Join(known, ", "))
}

// configKeyPaths lists every key path of t, list elements written "[]":
// "tls", "tls.cert_file", "alerts.rules[].name", ….
func configKeyPaths(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == prefixType {
			return
		}
		fields := yamlFields(t)
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p := joinKey(prefix, n)
			out = append(out, p)
			ft := t.FieldByIndex(fields[n]).Type
			if ft.Kind() == reflect.Slice {
				walk(ft.Elem(), p+"[]")
			} else {
				walk(ft, p)
			}
		}
	}
	walk(t, "")
	return out
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// characters ("domian" is 2 from "domains").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// describe names a node's kind (and short value) for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "nothing"
	}
	return fmt.Sprintf("the string %q", truncate(n.Value))
}

// truncate cuts s for an error message.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// parseCIDR parses a CIDR, or a bare address as its single-address prefix.
// A prefix with host bits set (10.0.0.1/8) is refused: it usually means a
// mistyped mask, and in a trust list a mistyped mask trusts a whole network.
func parseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an address", truncate(s))
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: a zone has no place in a CIDR", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", truncate(s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has bits set after the /%d mask: write %s, or /%d for the single address", s, p.Bits(), p.Masked(), p.Addr().BitLen())
	}
	return p, nil
}
