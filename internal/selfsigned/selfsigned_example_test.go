package selfsigned_test

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
)

func ExampleLoadOrCreate() {
	dir, err := os.MkdirTemp("", "mitmwatch-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	cert, err := selfsigned.LoadOrCreate(dir) // generates and caches
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := selfsigned.LoadOrCreate(dir) // reuses the cache
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	_ = cfg

	fmt.Println("names:", cert.Leaf.DNSNames, cert.Leaf.IPAddresses)
	fmt.Println("reused:", cert.Leaf.SerialNumber.Cmp(again.Leaf.SerialNumber) == 0)
	// Output:
	// names: [localhost] [127.0.0.1 ::1]
	// reused: true
}
