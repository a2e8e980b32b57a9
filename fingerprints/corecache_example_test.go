package fingerprints_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// A server fingerprints every new connection; the classifier remembers
// each client stack's fingerprints, so the second connection of the same
// Chromium gets them from the cache.
func ExampleClassifier_CoreFingerprints() {
	text, err := os.ReadFile("../testdata/clienthello/chromium-156-direct.hex")
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, err := hex.DecodeString(string(bytes.Join(bytes.Fields(text), nil)))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := fingerprints.NewClassifier(fingerprints.ClassifierConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 2 {
		// In a server, each connection's hello comes from its
		// fingerprints.Conn; here the same capture, parsed twice.
		h, err := fingerprints.ParseClientHello(raw)
		if err != nil {
			fmt.Println(err)
			return
		}
		f := c.CoreFingerprints(h)
		fmt.Println(f.JA4, f.JA3Hash == h.JA3Hash())
	}
	st := c.CoreCacheStats()
	fmt.Printf("misses %d, hits %d\n", st.Misses, st.Hits)
	// Output:
	// t13d1517h2_8daaf6152771_cb7bf5808d99 true
	// t13d1517h2_8daaf6152771_cb7bf5808d99 true
	// misses 1, hits 1
}
