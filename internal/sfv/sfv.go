package sfv

// AppendString appends s to dst as an RFC 8941 §4.1.6 sf-string: in double
// quotes, with '"' and '\' escaped. An sf-string holds printable ASCII
// only, so any other byte (a control character, a byte of a UTF-8
// sequence) becomes '?': the header stays valid whatever text it is given,
// for example a product name from an operator's signature file.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c > 0x7e:
			dst = append(dst, '?')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
