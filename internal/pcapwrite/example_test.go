package pcapwrite_test

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/mitmwatch/mitmwatch/internal/pcapwrite"
)

// Two connections in one file, each carrying a payload in 1000-byte
// segments; each has its own client port so tools keep them apart.
func ExampleWriter_WriteFlow() {
	var buf bytes.Buffer // or an *os.File
	w, err := pcapwrite.NewWriter(&buf, pcapwrite.LinkTypeEthernet)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, payload := range [][]byte{make([]byte, 2500), []byte("hello")} {
		f := pcapwrite.Flow{
			Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(50000+i)),
			MSS:    1000,
		}
		if err := w.WriteFlow(f, payload); err != nil {
			fmt.Println(err)
			return
		}
	}
	// 24-byte file header; per packet a 16-byte record header, 14 bytes of
	// Ethernet, 20 of IPv4, 20 of TCP and the segment's payload: 7 packets
	// and 2500 bytes for the first flow, 5 packets and 5 bytes for the second.
	fmt.Println(buf.Len(), "bytes")
	// Output: 3369 bytes
}
