package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

const (
	// Validity is how long a generated certificate is valid.
	Validity = 365 * 24 * time.Hour
	// RenewBefore is how close to its expiry a cached certificate is
	// replaced rather than reused.
	RenewBefore = 7 * 24 * time.Hour

	// CertFile and KeyFile are the names of the cached files inside the
	// cache directory.
	CertFile = "cert.pem"
	KeyFile  = "key.pem"

	// backdate covers a client whose clock runs a little behind ours.
	backdate = time.Hour
)

// DefaultDir is the default cache directory: os.UserCacheDir()/mitmwatch.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("selfsigned: no user cache directory: %w", err)
	}
	return filepath.Join(base, "mitmwatch"), nil
}

// LoadOrCreate returns the certificate cached in dir, generating and saving a
// new one first if the cache is missing, unreadable, not for the loopback
// names, or expiring within [RenewBefore]. An empty dir means [DefaultDir].
//
// The directory is created with mode 0700 and the key written with mode
// 0600. Files are written to a temporary name and renamed, so a concurrent
// reader never sees half a file; a reader that sees a new certificate with
// an old key rejects the pair and regenerates.
func LoadOrCreate(dir string) (tls.Certificate, error) {
	return loadOrCreate(dir, time.Now())
}

func loadOrCreate(dir string, now time.Time) (tls.Certificate, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return tls.Certificate{}, err
		}
		dir = d
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if cert, err := load(certPath, keyPath, now); err == nil {
		return cert, nil
	}
	certPEM, keyPEM, err := generate(now, Validity)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("selfsigned: create cache directory: %w", err)
	}
	// Key first: a reader racing with us then sees either the old pair, a
	// new key with the old certificate (rejected as a mismatch), or the new
	// pair.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("selfsigned: generated pair does not load: %w", err)
	}
	return cert, nil
}

// load reads and checks a cached pair; any error means "regenerate".
func load(certPath, keyPath string, now time.Time) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, err
		}
		cert.Leaf = leaf
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, errors.New("selfsigned: cached certificate is not valid yet")
	}
	if now.Add(RenewBefore).After(leaf.NotAfter) {
		return tls.Certificate{}, errors.New("selfsigned: cached certificate expires soon")
	}
	// The names every generated certificate covers; a cached certificate
	// missing one of them (say, from an older version) is regenerated.
	for _, h := range [...]string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(h); err != nil {
			return tls.Certificate{}, fmt.Errorf("selfsigned: cached certificate: %w", err)
		}
	}
	return cert, nil
}

// generate returns a PEM certificate and PEM PKCS#8 key, valid from
// now-backdate for validity.
func generate(now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: generate key: %w", err)
	}
	// RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 128
	// random bits keep two certificates from ever sharing one.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"mitmwatch"},
			CommonName:   "mitmwatch self-signed (localhost)",
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeFileAtomic writes data to a temporary file in path's directory with
// the given mode and renames it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("selfsigned: write %s: %w", filepath.Base(path), err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod sets the exact mode
	// asked for, whatever the umask.
	if err = f.Chmod(mode); err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("selfsigned: write %s: %w", filepath.Base(path), err)
	}
	return nil
}
