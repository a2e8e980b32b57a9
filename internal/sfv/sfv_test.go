package sfv

import "testing"

func TestAppendString(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "mitmproxy", `"mitmproxy"`},
		{"space_kept", "Kaspersky Web AV", `"Kaspersky Web AV"`},
		{"quote_escaped", `say "hi"`, `"say \"hi\""`},
		{"backslash_escaped", `a\b`, `"a\\b"`},
		{"control_replaced", "a\r\nb\tc\x00", `"a??b?c?"`},
		{"delete_replaced", "a\x7fb", `"a?b"`},
		{"utf8_each_byte_replaced", "é", `"??"`},
		{"tilde_and_space_are_printable", " ~", `" ~"`},
		{"escape_at_the_end_keeps_the_start", `abc"`, `"abc\""`},
		{"escape_at_the_start_keeps_the_rest", `\nabc`, `"\\nabc"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendString(nil, tt.in)); got != tt.want {
				t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendStringAppends(t *testing.T) {
	if got := string(AppendString([]byte("product="), "x")); got != `product="x"` {
		t.Errorf("got %s", got)
	}
}

func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain_kept", "mitmproxy 11", "mitmproxy 11"},
		{"quotes_and_backslashes_kept", `a"b\c`, `a"b\c`},
		{"crlf_replaced", "a\r\nb", "a??b"},
		{"delete_replaced", "a\x7fb", "a?b"},
		{"utf8_each_byte_replaced", "Kaspersky ☃", "Kaspersky ???"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable(tt.in); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrintableAllocatesOnlyToReplace(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Printable("intercepted mitmproxy") }); n != 0 {
		t.Errorf("%v allocations for a printable string, want 0", n)
	}
}
