package pcapwrite

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

const (
	// DefaultClientPort and DefaultServerPort are the ports of a Flow
	// whose Client or Server is zero (both then on 127.0.0.1).
	DefaultClientPort = 49152
	DefaultServerPort = 443
	// DefaultMSS is the segment size of a Flow whose MSS is 0: the payload
	// of a full-sized segment on Ethernet (1500 - 20 - 20).
	DefaultMSS = 1460
	// MaxMSS is the largest payload that fits one IPv4 packet with a
	// 20-byte IP and a 20-byte TCP header (65535 - 40).
	MaxMSS = 65495

	// Initial sequence numbers. Fixed, so that output is reproducible;
	// dissectors show sequence numbers relative to them anyway.
	clientISN uint32 = 1_000_000
	serverISN uint32 = 2_000_000

	ipv4HeaderLen = 20
	tcpHeaderLen  = 20
	ethHeaderLen  = 14

	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// Flow describes one synthetic TCP connection for [Writer.WriteFlow]. The
// zero value is a connection from 127.0.0.1:49152 to 127.0.0.1:443 with
// 1460-byte segments starting at 2020-01-01T00:00:00Z.
type Flow struct {
	// Client is the address and port of the side that connects and sends
	// the payload. It must be IPv4. If zero, 127.0.0.1:49152.
	Client netip.AddrPort
	// Server is the address and port of the side that accepts. It must be
	// IPv4. If zero, 127.0.0.1:443.
	Server netip.AddrPort
	// MSS is the largest payload of one data segment, in bytes, between 1
	// and [MaxMSS]. If 0, [DefaultMSS].
	MSS int
	// Start is the timestamp of the SYN; every later packet is one
	// millisecond after the previous one. If zero, 2020-01-01T00:00:00Z.
	Start time.Time
}

// resolved returns f with defaults filled in, or an error naming the
// invalid field.
func (f Flow) resolved() (Flow, error) {
	loopback := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if !f.Client.IsValid() {
		f.Client = netip.AddrPortFrom(loopback, DefaultClientPort)
	}
	if !f.Server.IsValid() {
		f.Server = netip.AddrPortFrom(loopback, DefaultServerPort)
	}
	var err error
	if f.Client, err = unmap4("Client", f.Client); err != nil {
		return f, err
	}
	if f.Server, err = unmap4("Server", f.Server); err != nil {
		return f, err
	}
	switch {
	case f.MSS == 0:
		f.MSS = DefaultMSS
	case f.MSS < 0 || f.MSS > MaxMSS:
		return f, fmt.Errorf("pcapwrite: Flow.MSS %d outside 1..%d", f.MSS, MaxMSS)
	}
	if f.Start.IsZero() {
		f.Start = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return f, nil
}

func unmap4(field string, ap netip.AddrPort) (netip.AddrPort, error) {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return ap, fmt.Errorf("pcapwrite: Flow.%s %s is not IPv4: %w", field, ap, ErrUnsupported)
	}
	return netip.AddrPortFrom(a, ap.Port()), nil
}

// WriteFlow writes one TCP connection from f.Client to f.Server carrying
// payload from client to server: SYN, SYN-ACK, ACK, then the payload in
// segments of at most f.MSS bytes (PSH+ACK), then the server's ACK of the
// last byte when the payload is not empty. The connection is left open (no
// FIN), as when a capture stops after the ClientHello.
//
// It returns an error naming the field when f is invalid, and any error of
// the underlying writer; packets written before such an error stay written.
func (w *Writer) WriteFlow(f Flow, payload []byte) error {
	f, err := f.resolved()
	if err != nil {
		return err
	}
	ts := f.Start
	buf := make([]byte, 0, ethHeaderLen+ipv4HeaderLen+tcpHeaderLen+min(len(payload), f.MSS))
	send := func(fromClient bool, seq, ack uint32, flags uint8, data []byte) error {
		src, dst := f.Client, f.Server
		if !fromClient {
			src, dst = dst, src
		}
		w.ipID++
		buf = buf[:0]
		if w.link == LinkTypeEthernet {
			buf = appendEthernet(buf, fromClient)
		}
		buf = appendIPv4TCP(buf, src, dst, w.ipID, seq, ack, flags, data)
		err := w.WritePacket(ts, buf)
		ts = ts.Add(time.Millisecond)
		return err
	}

	if err := send(true, clientISN, 0, tcpSYN, nil); err != nil {
		return err
	}
	if err := send(false, serverISN, clientISN+1, tcpSYN|tcpACK, nil); err != nil {
		return err
	}
	seq := clientISN + 1
	if err := send(true, seq, serverISN+1, tcpACK, nil); err != nil {
		return err
	}
	for rest := payload; len(rest) > 0; {
		n := min(len(rest), f.MSS)
		if err := send(true, seq, serverISN+1, tcpPSH|tcpACK, rest[:n]); err != nil {
			return err
		}
		seq += uint32(n) // wraps modulo 2^32, as TCP sequence numbers do
		rest = rest[n:]
	}
	if len(payload) > 0 {
		if err := send(false, serverISN+1, seq, tcpACK, nil); err != nil {
			return err
		}
	}
	return nil
}

// appendEthernet appends an Ethernet II header for an IPv4 packet, between
// two locally administered MAC addresses (the 0x02 bit of the first octet).
func appendEthernet(b []byte, fromClient bool) []byte {
	clientMAC := [6]byte{0x02, 0, 0, 0, 0, 0x01}
	serverMAC := [6]byte{0x02, 0, 0, 0, 0, 0x02}
	dst, src := serverMAC, clientMAC
	if !fromClient {
		dst, src = src, dst
	}
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	return append(b, 0x08, 0x00) // EtherType IPv4
}

// appendIPv4TCP appends an IPv4 packet holding one TCP segment, with both
// checksums computed. src and dst must be IPv4 and len(data) at most MaxMSS.
func appendIPv4TCP(b []byte, src, dst netip.AddrPort, id uint16, seq, ack uint32, flags uint8, data []byte) []byte {
	be := binary.BigEndian
	total := ipv4HeaderLen + tcpHeaderLen + len(data)
	s4, d4 := src.Addr().As4(), dst.Addr().As4()

	// IPv4 header, RFC 791 section 3.1.
	ip := len(b)
	b = append(b,
		0x45, 0, // version 4, IHL 5 words; DSCP/ECN 0
		0, 0, // total length, below
		0, 0, // identification, below
		0x40, 0, // flags: don't fragment; fragment offset 0
		64, 6, // TTL, protocol TCP
		0, 0, // header checksum, below
	)
	be.PutUint16(b[ip+2:], uint16(total))
	be.PutUint16(b[ip+4:], id)
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	be.PutUint16(b[ip+10:], checksum(0, b[ip:ip+ipv4HeaderLen]))

	// TCP header, RFC 793 section 3.1, without options.
	tcp := len(b)
	b = be.AppendUint16(b, src.Port())
	b = be.AppendUint16(b, dst.Port())
	b = be.AppendUint32(b, seq)
	b = be.AppendUint32(b, ack)
	b = append(b,
		tcpHeaderLen/4<<4, flags, // data offset in words; flags
		0xff, 0xff, // window 65535
		0, 0, // checksum, below
		0, 0, // urgent pointer
	)
	b = append(b, data...)

	// The TCP checksum covers a pseudo-header of both addresses, the
	// protocol and the TCP length, then the segment (RFC 793 section 3.1).
	var pseudo [12]byte
	copy(pseudo[0:], s4[:])
	copy(pseudo[4:], d4[:])
	pseudo[9] = 6
	be.PutUint16(pseudo[10:], uint16(tcpHeaderLen+len(data)))
	sum := checksum(sumWords(0, pseudo[:]), b[tcp:])
	be.PutUint16(b[tcp+16:], sum)
	return b
}

// sumWords adds b as big-endian 16-bit words (a final odd byte padded with
// zero) to the running one's-complement sum acc, without folding.
func sumWords(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// checksum returns the Internet checksum (RFC 1071) of b, continuing the
// unfolded sum acc: the one's complement of the one's-complement sum.
func checksum(acc uint32, b []byte) uint16 {
	acc = sumWords(acc, b)
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}
