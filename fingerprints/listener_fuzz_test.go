package fingerprints

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// ltFuzzInput encodes a FuzzListener input: header's low 3 bits say how
// many chunk sizes follow; bit 7 selects the small 1 KiB cap; bits 3-6 the
// caller's read size. The rest is what the client sends.
func ltFuzzInput(header byte, sizes []byte, payload []byte) []byte {
	header = header&^7 | byte(len(sizes))
	return append(append([]byte{header}, sizes...), payload...)
}

// ltFuzzDecode splits a FuzzListener input into its parts.
func ltFuzzDecode(data []byte) (sizes []int, limit, readSize int, payload []byte) {
	if len(data) == 0 {
		return nil, DefaultMaxHelloSize, 1, nil
	}
	h := data[0]
	n := min(int(h&7), len(data)-1)
	for _, s := range data[1 : 1+n] {
		sizes = append(sizes, int(s)+1)
	}
	limit = DefaultMaxHelloSize
	if h&0x80 != 0 {
		limit = 1 << 10
	}
	readSize = 1 + int(h>>3&0xf)*131
	return sizes, limit, readSize, data[1+n:]
}

// ltHexSeeds returns the record-framed hellos under the repository's
// testdata/clienthello (hex text), if any are there.
func ltHexSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, name := range captureFiles(f) {
		raw, err := readHexFile(name)
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		out = append(out, raw)
	}
	return out
}

// FuzzListener delivers the input to a capturing Conn in chunks whose
// sizes come from the input, and checks that the capture never panics,
// never buffers more than its cap, ends exactly once, and hands every byte
// back unchanged.
func FuzzListener(f *testing.F) {
	_, clientTLS := ltTLS(f)
	hellos := append(ltHexSeeds(f), ltClientHello(f, clientTLS))
	for _, h := range hellos {
		f.Add(ltFuzzInput(0, nil, h))
		f.Add(ltFuzzInput(0, []byte{0}, h))                           // one byte per read
		f.Add(ltFuzzInput(0x80, []byte{4, 200}, h))                   // over the 1 KiB cap
		f.Add(ltFuzzInput(0x08, []byte{2, 9, 0}, ltReframe(h, 1, 3))) // header split over records
		f.Add(ltFuzzInput(0x10, nil, ltReframe(h, 50, 50, 50)))
		f.Add(ltFuzzInput(0, []byte{31}, h[:len(h)/2]))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sizes, limit, readSize, payload := ltFuzzDecode(data)
		var calls int
		c, fl := ltAccept(t, ltChunked(payload, sizes...), ListenerConfig{
			MaxHelloSize: limit,
			HelloTimeout: -1,
			OnHello:      func(*Conn, *ClientHello, error) { calls++ },
		})
		var got []byte
		p := make([]byte, readSize)
		for {
			n, err := c.Read(p)
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("read back %x, sent %x", got, payload)
		}
		if len(c.buf) > limit {
			t.Fatalf("buffered %d bytes, cap %d", len(c.buf), limit)
		}
		if calls != 1 {
			t.Fatalf("OnHello called %d times", calls)
		}
		h, err := c.ClientHello()
		switch {
		case err == nil:
			if h == nil || !bytes.HasPrefix(payload, h.Raw) || len(h.Raw) > limit {
				t.Fatalf("hello Raw of %d bytes is not a prefix of the input within the cap", len(h.Raw))
			}
		case h != nil:
			t.Fatalf("hello with error %v", err)
		case errors.Is(err, ErrPending), errors.Is(err, ErrTimeout):
			t.Fatalf("capture error %v on a stream without deadlines", err)
		case !errors.Is(err, ErrNotTLS) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed):
			t.Fatalf("capture error %v wraps no sentinel", err)
		}
		s := fl.Stats()
		if s.Conns != 1 || s.Hellos+s.NotTLS+s.Truncated+s.TooLarge+s.Malformed+s.Timeout != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}
