package fingerprints

import "testing"

func TestGradeHello(t *testing.T) {
	tls13 := extVersions(0x0304, 0x0303)
	tests := []struct {
		name    string
		ciphers []uint16
		exts    []Extension
		version uint16
		want    Grade
	}{
		{"modern browser offer is A", []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0x009c, 0x002f}, []Extension{tls13}, 0x0303, GradeA},
		{"GREASE and SCSV are skipped when judging the first suite", []uint16{0x0a0a, 0x00ff, 0x1301, 0xc02f}, []Extension{tls13}, 0x0303, GradeA},
		{"TLS 1.2 only with forward secrecy first is B", []uint16{0xc02b, 0xc02f, 0x009c}, nil, 0x0303, GradeB},
		{"static RSA first is B", []uint16{0x009c, 0x1301, 0xc02f}, []Extension{tls13}, 0x0303, GradeB},
		{"3DES offered is C", []uint16{0x1301, 0xc02f, 0x000a}, []Extension{tls13}, 0x0303, GradeC},
		{"RC4 offered is C", []uint16{0xc02f, 0x0005}, nil, 0x0303, GradeC},
		{"CBC only is C", []uint16{0xc013, 0xc014, 0x002f, 0x0035}, nil, 0x0303, GradeC},
		{"TLS 1.0 at most is C", []uint16{0xc02f}, nil, 0x0301, GradeC},
		{"export suite is F even with TLS 1.3", []uint16{0x1301, 0x0003}, []Extension{tls13}, 0x0303, GradeF},
		{"NULL suite is F", []uint16{0xc02f, 0x0002}, nil, 0x0303, GradeF},
		{"anonymous ECDH is F", []uint16{0xc02f, 0xc018}, nil, 0x0303, GradeF},
		{"SSLv3 at most is F", []uint16{0xc02f}, nil, 0x0300, GradeF},
		// The Kazakhstan 2019 interceptor (REFERENCE.md): TLS 1.2, ECDHE
		// AEAD first, CBC suites after, no TLS 1.3.
		{"Kazakhstan 2019 system is B", []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x0033, 0x0039, 0x002f, 0x0035, 0x00ff}, nil, 0x0303, GradeB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustParse(t, testHello{version: tt.version, ciphers: tt.ciphers, exts: tt.exts}.records(0))
			if got := GradeHello(h); got != tt.want {
				t.Errorf("grade %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGradeTextRoundTrip(t *testing.T) {
	for _, g := range []Grade{GradeNone, GradeA, GradeB, GradeC, GradeF} {
		b, _ := g.MarshalText()
		var back Grade
		if err := back.UnmarshalText(b); err != nil || back != g {
			t.Errorf("%v → %q → %v, %v", g, b, back, err)
		}
	}
	var g Grade
	if err := g.UnmarshalText([]byte("D")); err == nil {
		t.Error("grade D accepted")
	}
}
