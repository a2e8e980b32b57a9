package fingerprints_test

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/pcapwrite"
)

// TestJA3AgainstTshark is a differential test against Wireshark's JA3
// (tls.handshake.ja3_full and tls.handshake.ja3, Wireshark 3.2 and later):
// every hello of the oracle corpus is put in one synthetic pcap, one TCP
// flow each, and tshark's strings must equal ours exactly.
//
// tshark is the reference mitmwatch follows (REFERENCE.md: it agreed with an
// independent implementation on 35 hellos). Without tshark the test skips,
// except under CI=true, where it fails.
func TestJA3AgainstTshark(t *testing.T) {
	tshark := requireTool(t, "tshark")
	corpus := oracleCorpus(t)

	// One file, one flow per hello, told apart by client port. Every other
	// flow is cut into small odd-sized segments so that the hello reaches
	// tshark's TLS dissector only through TCP reassembly.
	const firstPort = 40000
	var pcap bytes.Buffer
	w, err := pcapwrite.NewWriter(&pcap, pcapwrite.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range corpus {
		f := pcapwrite.Flow{Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(firstPort+i))}
		if i%2 == 1 {
			f.MSS = 97
		}
		if err := w.WriteFlow(f, h.raw); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "hellos.pcap")
	if err := os.WriteFile(file, pcap.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// Port 443 is dissected as TLS by default; -d says so anyway so that a
	// changed default cannot silently drop every hello.
	cmd := exec.Command(tshark, "-r", file,
		"-o", "tcp.desegment_tcp_streams:TRUE",
		"-o", "tls.desegment_ssl_records:TRUE",
		"-d", "tcp.port==443,tls",
		"-Y", "tls.handshake.type == 1",
		"-T", "fields", "-E", "separator=/t",
		"-e", "tcp.srcport", "-e", "tls.handshake.ja3_full", "-e", "tls.handshake.ja3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}

	type ja3 struct{ full, hash string }
	byPort := map[int]ja3{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			t.Fatalf("tshark line %q: want 3 tab-separated fields", sc.Text())
		}
		port, err := strconv.Atoi(fields[0])
		if err != nil {
			t.Fatalf("tshark line %q: %v", sc.Text(), err)
		}
		if _, dup := byPort[port]; dup {
			t.Fatalf("tshark reports two ClientHellos from port %d", port)
		}
		byPort[port] = ja3{fields[1], fields[2]}
	}

	for i, h := range corpus {
		t.Run(h.name, func(t *testing.T) {
			want, ok := byPort[firstPort+i]
			if !ok {
				t.Fatalf("tshark found no ClientHello in this flow")
			}
			_, got, err := fingerprints.Fingerprint(h.raw)
			if err != nil {
				t.Fatalf("Fingerprint: %v", err)
			}
			if got.JA3 != want.full {
				t.Errorf("JA3\n got %s\nwant %s (tshark)", got.JA3, want.full)
			}
			if got.JA3Hash != want.hash {
				t.Errorf("JA3Hash = %s, tshark %s", got.JA3Hash, want.hash)
			}
		})
	}
}

// requireTool returns the path of an external tool. When it is missing the
// test is skipped, except under CI=true, where nothing may be skipped.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found and CI=true: run scripts/install-deps", name)
		}
		t.Skipf("%s not found (run scripts/install-deps)", name)
	}
	return path
}
