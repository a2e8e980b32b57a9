// Package pcapwrite writes classic libpcap capture files holding synthetic
// IPv4 TCP flows, so that tests and tools can hand a captured ClientHello to
// packet-based tools (tshark, JA3 implementations that read pcaps) without
// capturing real traffic. It is pure Go and uses only the standard library.
//
// # File format
//
// [NewWriter] writes the 24-byte global header of the classic format
// (magic 0xa1b2c3d4, version 2.4, microsecond timestamps, little-endian),
// and [Writer.WritePacket] appends one record per packet, as described in
// pcap-savefile(5) (https://www.tcpdump.org/manpages/pcap-savefile.5.txt).
// Two link types are supported: [LinkTypeEthernet] (an Ethernet II frame
// around each IPv4 packet) and [LinkTypeRaw] (bare IPv4 packets), with the
// numbers of https://www.tcpdump.org/linktypes.html.
//
// # Flows
//
// [Writer.WriteFlow] writes one client-to-server TCP connection carrying a
// payload: the three-way handshake (SYN, SYN-ACK, ACK), the payload split
// into segments of at most [Flow.MSS] bytes with consecutive sequence
// numbers, and the server's ACK of the last byte. IPv4 header checksums
// (RFC 791) and TCP checksums over the pseudo-header (RFC 793, section 3.1)
// are computed, so a dissector that verifies them finds them good and a
// reassembling dissector (tshark's tcp.desegment_tcp_streams) sees one
// in-order stream. Timestamps are deterministic: the same input always gives
// the same bytes.
//
// The zero [Flow] is a connection from 127.0.0.1:49152 to 127.0.0.1:443 with
// 1460-byte segments; give each flow of a file its own client port so that
// tools keep the streams apart.
package pcapwrite
