package alerts

import (
	"encoding/json"
	"testing"
)

func TestVerdictText(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		text string
	}{
		{name: "zero_value_is_unknown_never_clean", v: Verdict(0), text: "unknown"},
		{name: "clean", v: VerdictClean, text: "clean"},
		{name: "intercepted", v: VerdictIntercepted, text: "intercepted"},
		{name: "spoofed", v: VerdictSpoofed, text: "spoofed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.v.String() != tc.text {
				t.Fatalf("String() = %q, want %q", tc.v.String(), tc.text)
			}
			b, err := json.Marshal(tc.v)
			if err != nil || string(b) != `"`+tc.text+`"` {
				t.Fatalf("json = %s, %v", b, err)
			}
			var back Verdict
			if err := json.Unmarshal(b, &back); err != nil || back != tc.v {
				t.Fatalf("round trip = %v, %v", back, err)
			}
		})
	}
	if _, err := Verdict(9).MarshalText(); err == nil {
		t.Error("MarshalText of an out-of-range verdict: no error")
	}
	if Verdict(9).String() != "verdict(9)" {
		t.Errorf("String of 9 = %q", Verdict(9).String())
	}
	var v Verdict
	if err := v.UnmarshalText([]byte("Clean")); err == nil {
		t.Error(`UnmarshalText("Clean"): no error (names are lower case)`)
	}
}

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Network
		ok   bool
	}{
		{name: "country_and_asn", in: "KZ:9198", want: Network{"KZ", 9198}, ok: true},
		{name: "unknown_network", in: "ZZ:0", want: Network{"ZZ", 0}, ok: true},
		{name: "largest_asn", in: "US:4294967295", want: Network{"US", 4294967295}, ok: true},
		{name: "asn_overflow", in: "US:4294967296"},
		{name: "missing_asn", in: "KZ:"},
		{name: "no_separator", in: "KZ9198"},
		{name: "signed_asn", in: "KZ:-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNetwork(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseNetwork(%q) = %v, %v", tc.in, got, err)
			}
			if tc.ok && got.String() != tc.in {
				t.Fatalf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}
