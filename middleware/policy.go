package middleware

import (
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// protected reports whether the request path falls under one of the
// ProtectPaths prefixes. The path is cleaned first ("//login",
// "/a/../login" are "/login"), so that a spelling the router would still
// send to the login handler does not slip past. A prefix matches itself
// and whatever lies below it, on a segment boundary.
func (s *settings) protected(p string) bool {
	if p == "" {
		p = "/"
	}
	clean := path.Clean(p)
	for _, prefix := range s.protect {
		if pathUnder(clean, prefix) || clean != p && pathUnder(p, prefix) {
			return true
		}
	}
	return false
}

func pathUnder(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

// blockedHTML is the 403 page of a protected path on an intercepted
// connection. It is self-contained (no script, no external resource) and
// says what happened and what to do, without blaming the user.
const blockedHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connection not private</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.6rem; color: #8a1c1c; }
code { font: 14px ui-monospace, monospace; }
</style>
</head>
<body data-mitmwatch-blocked>
<h1>This page is not available on this connection</h1>
<p>Your connection to this site is being intercepted{{if .Product}} by <strong>{{.Product}}</strong>{{end}}: something between you and us (a security product, a company proxy or a network operator) decrypts the traffic, so it can read what you send here, passwords and card numbers included.</p>
<p>To protect you, this page is blocked while the connection is intercepted.</p>
<h2>What you can do</h2>
<ul>
<li>Try again from another network, for example your phone's mobile data.</li>
<li>If an antivirus is installed, turn off its "HTTPS scanning" or "web protection" for this site.</li>
<li>On a work or school device, ask your IT department.</li>
</ul>
<p><small>Detected by mitmwatch (confidence {{.Confidence}}).{{if .Endpoint}} Details: <a href="{{.Endpoint}}"><code>{{.Endpoint}}</code></a>.{{end}}</small></p>
</body>
</html>
`

func parseBlockedPage() (*template.Template, error) {
	return template.New("blocked").Parse(blockedHTML)
}

// serveBlocked answers a protected path of an intercepted connection with
// 403 and the explanation page.
func (s *settings) serveBlocked(w http.ResponseWriter, r *http.Request, v *Verdict) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusForbidden)
	if r.Method == http.MethodHead {
		return
	}
	err := s.blockedPage.Execute(w, struct {
		Product    string
		Confidence string
		Endpoint   string
	}{v.Product, strconv.FormatFloat(v.Confidence, 'f', 2, 64), s.endpoint})
	if err != nil {
		s.logger.Debug("middleware: write blocked page", "err", err)
	}
}
