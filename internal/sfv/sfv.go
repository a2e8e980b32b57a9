package sfv

// AppendString appends s to dst as an RFC 8941 §4.1.6 sf-string: in double
// quotes, with '"' and '\' escaped. An sf-string holds printable ASCII
// only, so any other byte (a control character, a byte of a UTF-8
// sequence) becomes '?': the header stays valid whatever text it is given,
// for example a product name from an operator's signature file.
//
// A string with nothing to escape, the usual case, is copied whole.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; !printable(c) || c == '"' || c == '\\' {
			dst = append(dst, s[:i]...)
			return append(appendEscaped(dst, s[i:]), '"')
		}
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendEscaped appends s byte by byte, escaped as AppendString says.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case !printable(c):
			dst = append(dst, '?')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Printable returns s with every byte outside printable ASCII replaced by
// '?', the rule AppendString applies, for a header value that is not a
// structured field (mitmwatch's single-value upstream headers). A string
// that needs no change is returned as it is, without an allocation.
func Printable(s string) string {
	for i := 0; i < len(s); i++ {
		if !printable(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if !printable(b[j]) {
					b[j] = '?'
				}
			}
			return string(b)
		}
	}
	return s
}

// printable reports whether c is printable ASCII (0x20 to 0x7e), the bytes
// an sf-string may hold (RFC 8941 §3.3.3).
func printable(c byte) bool { return c >= 0x20 && c <= 0x7e }
