package pcapwrite

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// TestNewWriterHeader pins the 24-byte file header byte for byte against
// pcap-savefile(5), so a change of magic, version or field order fails.
func TestNewWriterHeader(t *testing.T) {
	tests := []struct {
		name string
		link LinkType
		want string
	}{
		{"ethernet_link_type_1", LinkTypeEthernet,
			"d4c3b2a1" + "0200" + "0400" + "00000000" + "00000000" + "00000400" + "01000000"},
		{"raw_ipv4_link_type_101", LinkTypeRaw,
			"d4c3b2a1" + "0200" + "0400" + "00000000" + "00000000" + "00000400" + "65000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, tt.link)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(buf.Bytes()); got != tt.want {
				t.Errorf("header = %s, want %s", got, tt.want)
			}
			if w.LinkType() != tt.link {
				t.Errorf("LinkType() = %d, want %d", w.LinkType(), tt.link)
			}
		})
	}
}

// TestWritePacketReadBack checks records with an independent reader
// (gopacket's pure-Go pcapgo): timestamps, lengths and bytes survive.
func TestWritePacketReadBack(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkTypeRaw)
	if err != nil {
		t.Fatal(err)
	}
	packets := []struct {
		ts   time.Time
		data []byte
	}{
		{time.Date(2024, 2, 29, 12, 0, 0, 123456789, time.UTC), []byte{0x45, 1, 2, 3}},
		{time.Unix(0, 0), nil},
		{time.Unix(1<<32-1, 999_999_000), bytes.Repeat([]byte{0xab}, 70000)},
	}
	for _, p := range packets {
		if err := w.WritePacket(p.ts, p.data); err != nil {
			t.Fatal(err)
		}
	}

	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeRaw {
		t.Errorf("link type = %v, want raw", r.LinkType())
	}
	for i, p := range packets {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(data, p.data) {
			t.Errorf("packet %d: %d bytes read back, want %d", i, len(data), len(p.data))
		}
		if want := p.ts.Truncate(time.Microsecond); !ci.Timestamp.Equal(want) {
			t.Errorf("packet %d: timestamp %v, want %v", i, ci.Timestamp, want)
		}
		if ci.CaptureLength != len(p.data) || ci.Length != len(p.data) {
			t.Errorf("packet %d: lengths %d/%d, want %d", i, ci.CaptureLength, ci.Length, len(p.data))
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	t.Run("unsupported_link_type_is_refused", func(t *testing.T) {
		_, err := NewWriter(io.Discard, 105) // IEEE 802.11
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("err = %v, want ErrUnsupported", err)
		}
	})
	t.Run("header_write_error_is_returned", func(t *testing.T) {
		if _, err := NewWriter(&failWriter{}, LinkTypeRaw); err == nil {
			t.Error("no error from a failing writer")
		}
	})
	w, err := NewWriter(&failWriter{after: 1}, LinkTypeRaw)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("packet_write_error_is_returned", func(t *testing.T) {
		if err := w.WritePacket(time.Unix(1, 0), []byte{1}); err == nil {
			t.Error("no error from a failing writer")
		}
	})
	t.Run("packet_larger_than_snaplen_is_refused_not_truncated", func(t *testing.T) {
		if err := w.WritePacket(time.Unix(1, 0), make([]byte, Snaplen+1)); err == nil {
			t.Error("no error")
		}
	})
	t.Run("timestamp_before_1970_is_refused", func(t *testing.T) {
		if err := w.WritePacket(time.Unix(-1, 0), nil); err == nil {
			t.Error("no error")
		}
	})
	t.Run("timestamp_after_2106_is_refused", func(t *testing.T) {
		if err := w.WritePacket(time.Unix(1<<32, 0), nil); err == nil {
			t.Error("no error")
		}
	})
}
