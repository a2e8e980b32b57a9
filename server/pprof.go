package server

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// pprofPrefix is where the admin listener serves runtime profiles when
// AdminServerConfig.Pprof is set.
const pprofPrefix = "/debug/pprof/"

// servePprof dispatches a /debug/pprof/ request to net/http/pprof without
// touching http.DefaultServeMux (importing the package registers its
// handlers there, but nothing in mitmwatch serves that mux).
func servePprof(w http.ResponseWriter, r *http.Request) {
	// The admin listener sends no-store and a strict CSP already; the
	// profile pages are plain HTML and text.
	switch strings.TrimPrefix(r.URL.Path, pprofPrefix) {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default: // the index, and heap, goroutine, allocs, block, mutex, …
		pprof.Index(w, r)
	}
}
