package main

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestNewTestPKI(t *testing.T) {
	now := time.Now()
	pki, err := newTestPKI(now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pki.Leaf.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dnsName string
		at      time.Time
		wantOK  bool
	}{
		{"leaf_valid_for_localhost_under_the_CA", "localhost", now, true},
		{"leaf_not_valid_for_another_host", "example.com", now, false},
		{"leaf_expired_after_validity", "localhost", now.Add(2 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{
				DNSName:     tt.dnsName,
				Roots:       pki.certPool(),
				CurrentTime: tt.at,
			})
			if (err == nil) != tt.wantOK {
				t.Fatalf("Verify(%q) error = %v, want ok=%v", tt.dnsName, err, tt.wantOK)
			}
		})
	}

	t.Run("CA_PEM_is_the_CA_certificate_for_certutil", func(t *testing.T) {
		block, rest := pem.Decode(pki.CAPEM)
		if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
			t.Fatalf("CAPEM is not one CERTIFICATE block: %q", pki.CAPEM)
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !ca.IsCA || !ca.Equal(pki.CA) {
			t.Fatalf("CAPEM holds %v (IsCA=%v), want the CA", ca.Subject, ca.IsCA)
		}
	})

	t.Run("two_runs_use_different_serials", func(t *testing.T) {
		other, err := newTestPKI(now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if other.CA.SerialNumber.Cmp(pki.CA.SerialNumber) == 0 {
			t.Fatal("two CAs share a serial number")
		}
	})
}
