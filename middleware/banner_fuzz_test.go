package middleware

import "testing"

// FuzzNegotiateLocale: any Accept-Language header gives one of the
// banner's locales without panicking, and a range of weight 0 appended
// to it changes nothing (RFC 9110 section 12.5.4: q=0 means "not
// acceptable").
func FuzzNegotiateLocale(f *testing.F) {
	for _, s := range []string{
		"", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "kk", "zh-Hant-TW", "zh_TW", "fa;q=1.000",
		"de;q=1.0001", "*;q=0.5", "en;q=0", "ar;q=0.5, tr;q=0.5", ",,,;;;", "es;q", "fr;Q=0.3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := negotiateLocale(header)
		if got < 0 || got >= numLocales {
			t.Fatalf("negotiateLocale(%q) = %d, not a locale", header, got)
		}
		if again := negotiateLocale(header + ", kk;q=0"); again != got {
			t.Errorf("negotiateLocale(%q) = %d, but %d with \", kk;q=0\" appended", header, got, again)
		}
	})
}
