package pcapwrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// LinkType is the link-layer header type of every packet in a file, with
// the numbers of https://www.tcpdump.org/linktypes.html.
type LinkType uint32

const (
	// LinkTypeEthernet (LINKTYPE_ETHERNET, 1): each packet starts with an
	// Ethernet II header.
	LinkTypeEthernet LinkType = 1
	// LinkTypeRaw (LINKTYPE_RAW, 101): each packet is a bare IPv4 or IPv6
	// packet. (The DLT_RAW value of the capture API differs between
	// platforms; files always use 101.)
	LinkTypeRaw LinkType = 101
)

// Snaplen is the snapshot length written in the file header. Packets are
// never truncated: [Writer.WritePacket] refuses a larger one.
const Snaplen = 262144

// ErrUnsupported is returned (wrapped) for an option this package does not
// implement: another link type, an IPv6 address.
var ErrUnsupported = errors.New("pcapwrite: unsupported")

// pcap-savefile(5): the magic number in the writer's byte order says both
// the byte order and that timestamps are in microseconds.
const (
	magicMicroseconds = 0xa1b2c3d4
	versionMajor      = 2
	versionMinor      = 4
	fileHeaderLen     = 24
	recordHeaderLen   = 16
)

// Writer appends packets to a classic libpcap file. Create one with
// [NewWriter]. A Writer is not safe for concurrent use.
type Writer struct {
	w    io.Writer
	link LinkType
	// ipID numbers the IPv4 packets this Writer builds in [Writer.WriteFlow],
	// so that packets of consecutive flows do not repeat an identification.
	ipID uint16
}

// NewWriter writes the file header for link type link to w and returns a
// Writer that appends packets after it. It fails for a link type other
// than [LinkTypeEthernet] and [LinkTypeRaw], and when w fails.
func NewWriter(w io.Writer, link LinkType) (*Writer, error) {
	if link != LinkTypeEthernet && link != LinkTypeRaw {
		return nil, fmt.Errorf("pcapwrite: link type %d: %w", link, ErrUnsupported)
	}
	var h [fileHeaderLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], magicMicroseconds)
	le.PutUint16(h[4:], versionMajor)
	le.PutUint16(h[6:], versionMinor)
	// h[8:16]: thiszone and sigfigs, both 0 (timestamps are UTC).
	le.PutUint32(h[16:], Snaplen)
	le.PutUint32(h[20:], uint32(link))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("pcapwrite: write file header: %w", err)
	}
	return &Writer{w: w, link: link}, nil
}

// LinkType returns the link type written in the file header.
func (w *Writer) LinkType() LinkType { return w.link }

// WritePacket appends one packet captured at ts. frame must start with the
// link-layer header of the Writer's link type; it is written whole, so it
// may not exceed [Snaplen] bytes. ts must lie between 1970 and 2106 (the
// file stores seconds as an unsigned 32-bit number).
func (w *Writer) WritePacket(ts time.Time, frame []byte) error {
	if len(frame) > Snaplen {
		return fmt.Errorf("pcapwrite: packet of %d bytes exceeds the snapshot length %d", len(frame), Snaplen)
	}
	sec := ts.Unix()
	if sec < 0 || sec > math.MaxUint32 {
		return fmt.Errorf("pcapwrite: timestamp %s outside the file format's range", ts.UTC().Format(time.RFC3339))
	}
	var h [recordHeaderLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(sec))
	le.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
	le.PutUint32(h[8:], uint32(len(frame)))  // captured length
	le.PutUint32(h[12:], uint32(len(frame))) // original length
	if _, err := w.w.Write(h[:]); err != nil {
		return fmt.Errorf("pcapwrite: write packet header: %w", err)
	}
	if _, err := w.w.Write(frame); err != nil {
		return fmt.Errorf("pcapwrite: write packet: %w", err)
	}
	return nil
}
