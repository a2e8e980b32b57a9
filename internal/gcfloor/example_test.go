package gcfloor_test

import (
	"fmt"

	"github.com/mitmwatch/mitmwatch/internal/gcfloor"
)

// A main starts the floor once, early, and stops it on the way out.
func ExampleStart() {
	f := gcfloor.Start(64 << 20) // 64 MiB
	defer f.Stop()
	fmt.Println(f.Percent() > f.Base())
	// Output: true
}
