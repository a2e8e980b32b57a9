package middleware

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// serveEndpoint answers GET and HEAD on the verdict endpoint with v as
// JSON. The answer describes the connection that asked, so no cache may
// keep it (Cache-Control: no-store): a copy served to anyone else, or to
// the same person on another network, would be wrong.
func (s *settings) serveEndpoint(w http.ResponseWriter, r *http.Request, v *Verdict) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.logger.Error("middleware: encode verdict", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
