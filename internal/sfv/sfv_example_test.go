package sfv_test

import (
	"fmt"

	"github.com/mitmwatch/mitmwatch/internal/sfv"
)

func ExampleAppendString() {
	b := []byte("intercepted;product=")
	b = sfv.AppendString(b, `Acme "Secure" Gateway`)
	fmt.Println(string(b))
	// Output: intercepted;product="Acme \"Secure\" Gateway"
}
