package pcapwrite

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// decodedPacket is one packet of a file as gopacket (an independent
// decoder) sees it.
type decodedPacket struct {
	raw []byte // whole frame
	ip  *layers.IPv4
	tcp *layers.TCP
}

func readFlowFile(t *testing.T, file []byte) (LinkType, []decodedPacket) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	first := gopacket.LayerType(layers.LayerTypeIPv4)
	if r.LinkType() == layers.LinkTypeEthernet {
		first = layers.LayerTypeEthernet
	}
	var out []decodedPacket
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, first, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: decode: %v", len(out)+1, el.Error())
		}
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("packet %d: no IPv4/TCP layer", len(out)+1)
		}
		out = append(out, decodedPacket{raw: data, ip: ip, tcp: tcp})
	}
	return LinkType(r.LinkType()), out
}

// reserialize rebuilds the IPv4 and TCP headers with gopacket, computing
// lengths and checksums itself, and returns the bytes from the IPv4 header
// on. Equal bytes mean our lengths and checksums are right.
func reserialize(t *testing.T, p decodedPacket) []byte {
	t.Helper()
	ip := *p.ip
	tcp := *p.tcp
	if err := tcp.SetNetworkLayerForChecksum(&ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, &ip, &tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteFlow(t *testing.T) {
	payload := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	tests := []struct {
		name    string
		link    LinkType
		flow    Flow
		payload []byte
		// want
		client, server netip.AddrPort
		segments       int
	}{
		{
			name: "zero_flow_is_loopback_to_443_in_1460_byte_segments",
			link: LinkTypeEthernet, payload: payload(3000),
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 3, // 1460 + 1460 + 80
		},
		{
			name: "raw_link_type_carries_bare_ipv4",
			link: LinkTypeRaw, payload: payload(517),
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 1,
		},
		{
			name: "payload_an_exact_multiple_of_mss_has_no_empty_segment",
			link: LinkTypeRaw, flow: Flow{MSS: 100}, payload: payload(300),
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 3,
		},
		{
			name: "one_byte_segments_keep_consecutive_sequence_numbers",
			link: LinkTypeEthernet, flow: Flow{MSS: 1}, payload: payload(7),
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 7,
		},
		{
			name: "odd_length_segment_checksums_pad_the_last_byte",
			link: LinkTypeRaw, flow: Flow{MSS: 333}, payload: payload(1000),
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 4,
		},
		{
			name: "largest_segment_fits_one_ipv4_packet",
			link: LinkTypeRaw, flow: Flow{MSS: MaxMSS}, payload: payload(MaxMSS),
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 1,
		},
		{
			name: "explicit_addresses_and_ipv4_mapped_ipv6_are_used",
			link: LinkTypeEthernet,
			flow: Flow{
				Client: netip.MustParseAddrPort("[::ffff:192.0.2.7]:50001"),
				Server: netip.MustParseAddrPort("198.51.100.9:8443"),
			},
			payload: payload(10),
			client:  netip.MustParseAddrPort("192.0.2.7:50001"), server: netip.MustParseAddrPort("198.51.100.9:8443"),
			segments: 1,
		},
		{
			name:   "empty_payload_is_a_bare_handshake",
			link:   LinkTypeRaw,
			client: netip.MustParseAddrPort("127.0.0.1:49152"), server: netip.MustParseAddrPort("127.0.0.1:443"),
			segments: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, tt.link)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFlow(tt.flow, tt.payload); err != nil {
				t.Fatal(err)
			}
			link, pkts := readFlowFile(t, buf.Bytes())
			if link != tt.link {
				t.Errorf("link type %d, want %d", link, tt.link)
			}
			wantPackets := 3 + tt.segments
			if tt.segments > 0 {
				wantPackets++ // the server's final ACK
			}
			if len(pkts) != wantPackets {
				t.Fatalf("%d packets, want %d", len(pkts), wantPackets)
			}

			mss := tt.flow.MSS
			if mss == 0 {
				mss = DefaultMSS
			}
			var stream []byte
			var cISN, sISN uint32
			for i, p := range pkts {
				// Direction, addresses and ports.
				fromClient := i != 1 && i != len(pkts)-1 || i == len(pkts)-1 && tt.segments == 0
				src, dst := tt.client, tt.server
				if !fromClient {
					src, dst = dst, src
				}
				gotSrc := netip.AddrPortFrom(netip.AddrFrom4([4]byte(p.ip.SrcIP.To4())), uint16(p.tcp.SrcPort))
				gotDst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(p.ip.DstIP.To4())), uint16(p.tcp.DstPort))
				if gotSrc != src || gotDst != dst {
					t.Errorf("packet %d: %s > %s, want %s > %s", i+1, gotSrc, gotDst, src, dst)
				}

				// Checksums and lengths, recomputed by gopacket.
				l3 := p.raw
				if tt.link == LinkTypeEthernet {
					l3 = l3[14:]
				}
				if re := reserialize(t, p); !bytes.Equal(re, l3) {
					t.Errorf("packet %d: gopacket recomputes different headers:\n got %x\nwant %x",
						i+1, l3[:40], re[:min(40, len(re))])
				}

				// Handshake flags and sequence numbers.
				tcp := p.tcp
				switch {
				case i == 0:
					if !tcp.SYN || tcp.ACK {
						t.Errorf("packet 1 is not a SYN")
					}
					cISN = tcp.Seq
				case i == 1:
					if !tcp.SYN || !tcp.ACK || tcp.Ack != cISN+1 {
						t.Errorf("packet 2 is not a SYN-ACK of %d", cISN+1)
					}
					sISN = tcp.Seq
				case i == 2:
					if tcp.SYN || !tcp.ACK || tcp.Seq != cISN+1 || tcp.Ack != sISN+1 || len(tcp.Payload) != 0 {
						t.Errorf("packet 3 is not the handshake's ACK")
					}
				case fromClient:
					if want := cISN + 1 + uint32(len(stream)); tcp.Seq != want {
						t.Errorf("packet %d: seq %d, want %d", i+1, tcp.Seq, want)
					}
					if len(tcp.Payload) == 0 || len(tcp.Payload) > mss {
						t.Errorf("packet %d: %d payload bytes, want 1..%d", i+1, len(tcp.Payload), mss)
					}
					if !tcp.PSH || !tcp.ACK {
						t.Errorf("packet %d: data segment without PSH+ACK", i+1)
					}
					stream = append(stream, tcp.Payload...)
				default:
					if want := cISN + 1 + uint32(len(tt.payload)); !tcp.ACK || tcp.Ack != want {
						t.Errorf("last packet acks %d, want %d", tcp.Ack, want)
					}
				}
			}
			if !bytes.Equal(stream, tt.payload) {
				t.Errorf("reassembled %d bytes differ from the %d-byte payload", len(stream), len(tt.payload))
			}
		})
	}
}

func TestWriteFlowIsDeterministic(t *testing.T) {
	write := func() []byte {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, LinkTypeEthernet)
		if err != nil {
			t.Fatal(err)
		}
		for port := uint16(40000); port < 40003; port++ {
			f := Flow{Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), MSS: 50}
			if err := w.WriteFlow(f, []byte(strings.Repeat("hello", 30))); err != nil {
				t.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	if a, b := write(), write(); !bytes.Equal(a, b) {
		t.Error("two runs wrote different files")
	}
}

func TestWriteFlowInvalid(t *testing.T) {
	tests := []struct {
		name      string
		flow      Flow
		wantField string
		wantIs    error
	}{
		{"ipv6_client_is_unsupported", Flow{Client: netip.MustParseAddrPort("[::1]:5000")}, "Flow.Client", ErrUnsupported},
		{"ipv6_server_is_unsupported", Flow{Server: netip.MustParseAddrPort("[2001:db8::1]:443")}, "Flow.Server", ErrUnsupported},
		{"negative_mss_is_refused", Flow{MSS: -1}, "Flow.MSS", nil},
		{"mss_beyond_one_ipv4_packet_is_refused", Flow{MSS: MaxMSS + 1}, "Flow.MSS", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, LinkTypeRaw)
			if err != nil {
				t.Fatal(err)
			}
			err = w.WriteFlow(tt.flow, []byte("x"))
			if err == nil || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("err = %v, want one naming %s", err, tt.wantField)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantIs)
			}
			if buf.Len() != 24 {
				t.Errorf("%d bytes after the file header were written for an invalid flow", buf.Len()-24)
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

// TestWriteFlowTshark has Wireshark check what this package promises: the
// file opens, every IPv4 and TCP checksum verifies as good, and following
// each TCP stream gives back its payload.
func TestWriteFlowTshark(t *testing.T) {
	tshark := requireTool(t, "tshark")
	payloads := [][]byte{
		bytes.Repeat([]byte("0123456789abcdef"), 300), // 4800 bytes
		[]byte("a\x00b\xffodd length"),
	}
	mss := []int{1400, 5} // 4 segments; 4 segments, the last odd-sized
	for _, link := range []LinkType{LinkTypeEthernet, LinkTypeRaw} {
		t.Run(fmt.Sprintf("link_type_%d", link), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, link)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range payloads {
				f := Flow{Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(50000+i)), MSS: mss[i]}
				if err := w.WriteFlow(f, p); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(t.TempDir(), "flows.pcap")
			if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}

			out := runTshark(t, tshark, "-r", file,
				"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
				"-T", "fields", "-E", "separator=,", "-e", "ip.checksum.status", "-e", "tcp.checksum.status")
			lines := strings.Fields(out)
			wantPackets := 0
			for i, p := range payloads {
				wantPackets += 3 + (len(p)+mss[i]-1)/mss[i] + 1
			}
			if len(lines) != wantPackets {
				t.Fatalf("tshark listed %d packets, want %d:\n%s", len(lines), wantPackets, out)
			}
			for i, l := range lines {
				// Wireshark's checksum status: 0 bad, 1 good, 2 unverified.
				if l != "1,1" {
					t.Errorf("packet %d: ip,tcp checksum status %q, want 1,1 (good)", i+1, l)
				}
			}

			for i, p := range payloads {
				out := runTshark(t, tshark, "-r", file, "-q", "-z", fmt.Sprintf("follow,tcp,raw,%d", i))
				if got := followedClientBytes(t, out); !bytes.Equal(got, p) {
					t.Errorf("stream %d: tshark followed %d bytes, want the %d-byte payload", i, len(got), len(p))
				}
			}
		})
	}
}

func runTshark(t *testing.T, tshark string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// followedClientBytes decodes tshark's "follow,tcp,raw" output: after the
// Node lines, one hex line per segment, indented by a tab when it comes
// from the server.
func followedClientBytes(t *testing.T, out string) []byte {
	t.Helper()
	var b []byte
	inData := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "Node 1:"):
			inData = true
		case strings.HasPrefix(line, "====="):
			inData = false
		case inData && line != "" && !strings.HasPrefix(line, "\t"):
			chunk, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("follow output line %q: %v", line, err)
			}
			b = append(b, chunk...)
		}
	}
	return b
}

// The zero Flow is documented to start at this instant.
func TestWriteFlowDefaultStart(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkTypeRaw)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFlow(Flow{}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		_, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		if !ci.Timestamp.Equal(want) {
			t.Errorf("packet %d at %v, want %v", i+1, ci.Timestamp, want)
		}
	}
}
