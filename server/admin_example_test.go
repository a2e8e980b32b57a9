package server_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/server"
)

// The admin handler on its default loopback address needs no token.
func ExampleNewAdminHandler() {
	grades := server.NewProductGrades(nil, 0)
	h, err := server.NewAdminHandler(server.AdminServerConfig{
		Store:  alerts.NewMemoryStore(),
		Grades: grades.Grade,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, path := range []string{"/healthz", "/readyz", "/api/top?window=15m"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:9090"+path, nil))
		fmt.Println(path, w.Code)
	}
	// Output:
	// /healthz 200
	// /readyz 200
	// /api/top?window=15m 200
}

// Off loopback, the admin listener refuses to start without a token, and
// with one it wants it on every route but the probes.
func ExampleNewAdminHandler_token() {
	_, err := server.NewAdminHandler(server.AdminServerConfig{Listen: "0.0.0.0:9090"})
	fmt.Println(errors.Is(err, server.ErrAdminToken))

	const token = "0123456789abcdef0123456789abcdef"
	h, err := server.NewAdminHandler(server.AdminServerConfig{Listen: "0.0.0.0:9090", Token: token})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, bearer := range []string{"", token} {
		r := httptest.NewRequest("GET", "http://mitmwatch.internal:9090/metrics", nil)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.Contains(w.Body.String(), "mitmwatch_build_info"))
	}
	// Output:
	// true
	// 401 false
	// 200 true
}

// ProductGrades remembers the worst grade the classifier gave each
// product, for the dashboard's product list.
func ExampleProductGrades() {
	g := server.NewProductGrades(nil, 0)
	g.NoteVerdict(fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy", Grade: fingerprints.GradeB})
	g.NoteVerdict(fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy", Grade: fingerprints.GradeA})
	fmt.Println(g.Grade("mitmproxy"))
	// Output: B
}
