package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// FuzzDashboardAPI sends the dashboard's JSON API any query string: every
// answer is 200 with JSON or 400 with an error naming the parameter,
// never a panic or a 500 (the store is up).
func FuzzDashboardAPI(f *testing.F) {
	for _, s := range []string{
		"", "window=5m", "window=99999999999999999d", "scope=country&key=KZ", "key=KZ:9198&window=1h",
		"limit=-1", "limit=1e9", "scope=asn&key=4294967295", "window=%00", "key=%E2%80%AE", "window=1m&window=2m",
	} {
		for route := range 4 {
			f.Add(uint8(route), s)
		}
	}
	a := newTestAdmin(f, AdminServerConfig{Store: kzFixture(f)}, testNow)
	routes := []string{"/api/top", "/api/series", "/api/fingerprints", "/api/alerts"}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		u := url.URL{Path: routes[int(route)%len(routes)], RawQuery: query}
		// adminRequest parses its target, which a fuzzed query may not
		// survive: the URL is set after.
		r := adminRequest("GET", "/")
		r.URL, r.RequestURI = &u, u.RequestURI()
		resp, body := do(a, r)
		switch resp.StatusCode {
		case http.StatusOK:
			if !json.Valid([]byte(body)) {
				t.Errorf("%s: 200 with a body that is not JSON: %.200q", u.String(), body)
			}
		case http.StatusBadRequest:
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("%s: 400 without an error message: %.200q", u.String(), body)
			}
		default:
			t.Errorf("%s: status %d: %.200q", u.String(), resp.StatusCode, body)
		}
	})
}
