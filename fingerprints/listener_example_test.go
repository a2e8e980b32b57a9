package fingerprints_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Wiring capture into an HTTPS server takes three lines: wrap the TCP
// listener with NewListener (under TLS), set ConnContext, and read the
// hello with ClientHelloFromContext in a handler. With a plain
// http.Server the same reads:
//
//	srv := &http.Server{Handler: h, ConnContext: fingerprints.ConnContext}
//	ln, _ := net.Listen("tcp", ":443")
//	srv.ServeTLS(fingerprints.NewListener(ln, fingerprints.ListenerConfig{}), certFile, keyFile)
func ExampleNewListener() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hello, err := fingerprints.ClientHelloFromContext(r.Context()) // 3
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s: ALPN %q, TLS 1.3 offered: %v", r.Proto, hello.ALPN, hello.MaxVersion() == 0x0304)
	}))
	srv.Listener = fingerprints.NewListener(srv.Listener, fingerprints.ListenerConfig{}) // 1
	srv.Config.ConnContext = fingerprints.ConnContext                                    // 2
	srv.EnableHTTP2 = true
	srv.StartTLS() // httptest puts tls.NewListener over our listener
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: HTTP/2.0: ALPN ["h2" "http/1.1"], TLS 1.3 offered: true
}
