package middleware

// The streaming response writer that puts the banner into an HTML page.
//
// # Where the banner goes
//
// Right after the '>' of the page's opening <body …> tag, found by a small
// HTML tokenizer that follows the HTML standard's tokenization rules far
// enough not to be fooled: tag names are matched case-insensitively,
// attributes may hold quoted '>' characters, and "<body" inside
// comments, <!DOCTYPE …>, <script>, <style>, <title>, <textarea>,
// <noscript> and the other raw-text elements does not count. The
// tokenizer keeps its state between writes, so a tag split across writes
// at any byte is found.
//
// A response in which no <body tag appears gets no banner and keeps its
// headers. text/html responses without one are mostly fragments (htmx,
// Turbo, fetch() partials) into which a banner would not fit; every full
// page a browser navigates to in practice has the tag.
//
// # Which responses
//
// Only a response that is a whole HTML page for a browser to display:
//   - request method GET or POST, no Range header, no Upgrade header
//     (WebSocket), and Sec-Fetch-Dest "document" when the browser sends
//     it (fetch() and iframes get no banner);
//   - status 200 (not 206, 204, 304, 1xx, 3xx or errors);
//   - an explicit Content-Type of text/html (no sniffing), not in
//     UTF-16 or UTF-32, and no UTF-16 byte order mark in the body;
//   - no Content-Encoding, no Content-Range, no "Content-Disposition:
//     attachment".
//
// Everything else passes through untouched, byte for byte, and so does a
// connection after Hijack. Event streams (text/event-stream) are never
// text/html.
//
// # Streaming, and what is held back
//
// The page is never buffered whole. Until the end of the <body> tag, the
// status line and up to maxHeldBytes of the page are held back, so that
// the headers can still be fixed for the banner (below) or left exactly
// as the handler set them when no banner goes in. The hold ends at the
// body tag, at the limit, at a Flush, at a Hijack, or in the finish
// function Wrap returns, which is why the caller must call it: a handler
// that returns before its page reaches a <body> tag would otherwise lose
// the held bytes. After the hold every byte is written on as it arrives.
//
// # Headers of a page with a banner
//
// The body grows by the fragment. When the body tag arrives during the
// hold, a Content-Length set by the handler grows by the fragment's exact
// length; when the hold ended first (a Flush, or more than maxHeldBytes
// before the tag), Content-Length is removed, and net/http sends the
// length it counts itself or chunked encoding (HTTP/2 frames the body
// either way). ETag and the digest headers (Content-Digest, Repr-Digest,
// Digest, Content-MD5), which describe the page without the banner, are
// removed, and Cache-Control becomes "no-store": the page now carries one
// connection's verdict, a shared cache must not hand it to other users,
// and the browser must not show it again once the user is off the
// intercepted network.
//
// Changes a handler makes to the header map after WriteHeader and
// before the hold ends take effect, where net/http would have ignored
// them; a handler should not make any.
//
// # Compression
//
// Compressed bodies are passed through, never decompressed. Place
// mitmwatch inside (after) a compression middleware, so that it sees the
// uncompressed HTML and the compressor compresses the page with the
// banner in it:
//
//	handler := compress(mitmwatch(app)) // compress wraps mitmwatch
//
// # Flush, Hijack and http.ResponseController
//
// The writer implements Unwrap, so http.ResponseController reaches the
// underlying writer's deadlines and full-duplex switch; it implements
// Flush and FlushError (which end the hold and flush everything
// written); and it implements http.Hijacker exactly when the writer it
// wraps does, so a type assertion still tells HTTP/1 from HTTP/2.

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// maxHeldBytes bounds what the writer holds back while looking for the
// <body> tag. Most pages' <head> fits; a page whose head is longer still
// gets the banner, with Content-Length removed.
const maxHeldBytes = 32 << 10

// noop is the finish function when Wrap has nothing to finish. It is a
// function, not a closure, so returning it does not allocate.
func noop() {}

// Wrap returns a ResponseWriter that injects the banner for verdict v
// into a text/html response, and a finish function the caller must call
// (with defer) after the handler has returned: it sends what is still
// held back. When the request or verdict must not carry a banner it
// returns w itself and a no-op finish, without allocating. Wrap refuses
// every outcome but fingerprints.OutcomeIntercepted even though the
// caller decides first: a banner on a clean, spoofed or unknown
// connection would be a false alarm in front of a user.
//
// The writer Wrap returns must be used by one goroutine at a time, like
// any http.ResponseWriter.
func (b *Banner) Wrap(w http.ResponseWriter, r *http.Request, v *fingerprints.Verdict) (http.ResponseWriter, func()) {
	if b == nil || b.disabled || w == nil || r == nil || v == nil || v.Verdict != fingerprints.OutcomeIntercepted {
		return w, noop
	}
	if !requestMayCarryBanner(r) {
		return w, noop
	}
	inj := &injector{w: w, b: b, r: r, product: productLabel(v)}
	if _, ok := w.(http.Hijacker); ok {
		return hijackInjector{inj}, inj.finish
	}
	return inj, inj.finish
}

// requestMayCarryBanner reports whether the request is one whose response
// can be a page a person looks at.
func requestMayCarryBanner(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		// HEAD has no body; other methods are API calls.
		return false
	}
	h := r.Header
	if h.Get("Range") != "" || h.Get("Upgrade") != "" {
		return false
	}
	if d := h.Get("Sec-Fetch-Dest"); d != "" && d != "document" {
		return false
	}
	return true
}

// injectorState is where a response stands.
type injectorState uint8

const (
	// stateUndecided: no final status yet.
	stateUndecided injectorState = iota
	// stateHolding: an HTML page; its status and first bytes are held
	// back while looking for <body.
	stateHolding
	// stateScanning: an HTML page whose headers are out (prepared for a
	// banner); still looking for <body.
	stateScanning
	// statePassthrough: not a page for a banner, the banner is in, or
	// the connection was hijacked: bytes go through untouched.
	statePassthrough
)

// injector is the ResponseWriter Wrap returns.
type injector struct {
	w       http.ResponseWriter
	b       *Banner
	r       *http.Request
	product string
	state   injectorState
	// code is the status held back in stateHolding.
	code int
	// held is the page held back in stateHolding.
	held []byte
	scan htmlScanner
}

// hijackInjector is an injector around a writer that can be hijacked.
type hijackInjector struct{ *injector }

var (
	_ http.ResponseWriter = (*injector)(nil)
	_ http.Flusher        = (*injector)(nil)
	_ http.Hijacker       = hijackInjector{}
)

// Header returns the wrapped writer's header map.
func (i *injector) Header() http.Header { return i.w.Header() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (i *injector) Unwrap() http.ResponseWriter { return i.w }

// WriteHeader decides, on the final status, whether the response may
// get a banner: if so the status is held back, otherwise sent on.
func (i *injector) WriteHeader(code int) {
	switch i.state {
	case stateHolding:
		// A second final status: net/http would ignore it (and log
		// "superfluous WriteHeader"); sending it on now would send it
		// first.
		return
	case stateScanning, statePassthrough:
		i.w.WriteHeader(code)
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational (103 Early Hints): the final status is still to
		// come.
		i.w.WriteHeader(code)
		return
	}
	if code == http.StatusOK && responseMayCarryBanner(i.w.Header()) {
		i.state, i.code = stateHolding, code
		return
	}
	i.state = statePassthrough
	i.w.WriteHeader(code)
}

// Write writes p, with the banner after the <body> tag if p holds the
// tag's end. The count returned is of p's bytes only.
func (i *injector) Write(p []byte) (int, error) {
	if i.state == stateUndecided {
		i.WriteHeader(http.StatusOK)
	}
	switch i.state {
	case stateHolding:
		return i.writeHolding(p)
	case stateScanning:
		at := i.scan.feed(p)
		if at >= 0 {
			i.state = statePassthrough
			return i.writeWithBanner(p, at, i.b.render(i.r, i.product))
		}
		if i.scan.state == scanDone {
			i.state = statePassthrough
		}
	}
	return i.w.Write(p)
}

func (i *injector) writeHolding(p []byte) (int, error) {
	at := i.scan.feed(p)
	switch {
	case at >= 0:
		frag := i.b.render(i.r, i.product)
		i.sendHeader(true, len(frag))
		i.state = statePassthrough
		if err := i.sendHeld(); err != nil {
			return 0, err
		}
		return i.writeWithBanner(p, at, frag)
	case i.scan.state == scanDone:
		// No <body> tag can follow (a UTF-16 byte order mark,
		// <plaintext>).
		i.sendHeader(false, 0)
		i.state = statePassthrough
	case len(i.held)+len(p) > maxHeldBytes:
		i.endHold()
	default:
		i.held = append(i.held, p...)
		return len(p), nil
	}
	if err := i.sendHeld(); err != nil {
		return 0, err
	}
	return i.w.Write(p)
}

// writeWithBanner writes p with frag inserted at p[at].
func (i *injector) writeWithBanner(p []byte, at int, frag []byte) (int, error) {
	n, err := i.w.Write(p[:at])
	if err != nil {
		return n, err
	}
	if _, err := i.w.Write(frag); err != nil {
		return n, err
	}
	m, err := i.w.Write(p[at:])
	return n + m, err
}

// sendHeader sends the held status. With banner, the headers are fixed
// for a body that grows by fragLen bytes.
func (i *injector) sendHeader(banner bool, fragLen int) {
	if banner {
		prepareHeaders(i.w.Header(), fragLen)
	}
	i.w.WriteHeader(i.code)
}

// endHold sends the status with the headers fixed for a banner of a
// length not known yet, and goes on scanning without holding. The held
// bytes are left for sendHeld.
func (i *injector) endHold() {
	i.sendHeader(true, -1)
	i.state = stateScanning
}

// sendHeld writes the bytes held back, if any.
func (i *injector) sendHeld() error {
	if len(i.held) == 0 {
		return nil
	}
	held := i.held
	i.held = nil
	_, err := i.w.Write(held)
	return err
}

// finish ends a response still on hold: no <body> tag came, so the
// status and the held bytes go out as the handler wrote them.
func (i *injector) finish() {
	if i.state == stateHolding {
		i.sendHeader(false, 0)
		i.state = statePassthrough
		_ = i.sendHeld() // the handler has returned; no one to tell
	}
}

// Flush sends everything written so far to the client, like FlushError.
func (i *injector) Flush() { _ = i.FlushError() }

// FlushError sends everything written so far to the client; the status
// line goes first if it has not. A page still on hold goes on without
// the hold (see endHold).
func (i *injector) FlushError() error {
	if i.state == stateUndecided {
		i.WriteHeader(http.StatusOK)
	}
	if i.state == stateHolding {
		i.endHold()
		if err := i.sendHeld(); err != nil {
			return err
		}
	}
	return http.NewResponseController(i.w).Flush()
}

// Hijack hands the connection to the handler. What was held back goes
// out first, unchanged, and nothing is injected afterwards.
func (h hijackInjector) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h.state == stateHolding {
		h.sendHeader(false, 0)
		if err := h.sendHeld(); err != nil {
			h.state = statePassthrough
			return nil, nil, err
		}
	}
	h.state = statePassthrough
	return http.NewResponseController(h.w).Hijack()
}

// responseMayCarryBanner looks at the final headers of a 200 response.
func responseMayCarryBanner(h http.Header) bool {
	if !isHTMLContentType(h.Get("Content-Type")) {
		return false
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(strings.TrimSpace(ce), "identity") {
		return false
	}
	if h.Get("Content-Range") != "" {
		return false
	}
	if cd, _, _ := strings.Cut(h.Get("Content-Disposition"), ";"); strings.EqualFold(strings.TrimSpace(cd), "attachment") {
		return false
	}
	return true
}

// isHTMLContentType reports whether ct is text/html in a charset the
// banner's ASCII bytes can be written into: anything but UTF-16 and
// UTF-32 (and their UCS ancestors), whose code units are not bytes. It
// does not allocate.
func isHTMLContentType(ct string) bool {
	mediaType, params, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(mediaType), "text/html") {
		return false
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "charset") {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		for _, wide := range [...]string{"utf-16", "utf16", "utf-32", "utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", "unicode"} {
			if len(v) >= len(wide) && strings.EqualFold(v[:len(wide)], wide) {
				return false
			}
		}
	}
	return true
}

// prepareHeaders fixes the headers of a response that carries, or may
// carry, the banner; see "Headers of a page with a banner" above.
// fragLen is the banner's length, or -1 when it is not known yet.
func prepareHeaders(h http.Header, fragLen int) {
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if fragLen >= 0 && err == nil && n >= 0 && len(h["Content-Length"]) == 1 {
			h.Set("Content-Length", strconv.FormatInt(n+int64(fragLen), 10))
		} else {
			h.Del("Content-Length")
		}
	}
	h.Del("Etag")
	h.Del("Content-Digest")
	h.Del("Repr-Digest")
	h.Del("Digest")
	h.Del("Content-Md5")
	h.Set("Cache-Control", "no-store")
}

// scanState is the state of htmlScanner, named after the HTML standard's
// tokenizer states it approximates (WHATWG HTML, section 13.2.5).
type scanState uint8

const (
	scanData            scanState = iota // data state
	scanTagOpen                          // after "<"
	scanEndTagOpen                       // after "</"
	scanTagName                          // in a tag name
	scanBeforeAttrName                   // before an attribute name
	scanAttrName                         // in an attribute name
	scanAfterAttrName                    // after an attribute name
	scanBeforeAttrValue                  // after "="
	scanAttrValueDQ                      // in a "…" value
	scanAttrValueSQ                      // in a '…' value
	scanAttrValueUnq                     // in an unquoted value
	scanSelfClosing                      // after "/" in a tag
	scanMarkupDecl                       // after "<!"
	scanMarkupDash                       // after "<!-"
	scanComment                          // in <!-- … -->
	scanBogusComment                     // in <!DOCTYPE …>, <?…>, </ …> up to ">"
	scanRawText                          // in script, style, title, … up to its end tag
	scanRawLT                            // raw text after "<"
	scanRawEndName                       // raw text after "</", matching the element's name
	scanDone                             // the body tag was found, or will never be
)

// maxTagName is the longest tag name the scanner tells apart
// ("plaintext"); longer names are recorded as "too long".
const maxTagName = 9

// htmlScanner finds the end of the first <body> start tag in a stream of
// HTML, one write at a time, without buffering.
//
// It follows the standard's tokenizer where that decides what is a tag:
// comments (including the "<!-->" and "--!>" forms), markup
// declarations, quoted attribute values, and the raw-text and RCDATA
// elements. It does not build a tree, so it ignores what tree
// construction would do with a <body> inside <template> or SVG, and the
// script-data escape states (a "<!--" inside a script that hides a
// "</script>"); those only matter to pages that hide a <body> tag inside
// their own scripts.
type htmlScanner struct {
	state   scanState
	started bool
	isEnd   bool
	nameLen uint8 // maxTagName+1 means "too long"
	name    [maxTagName]byte
	matched uint8 // raw text: bytes of the end tag's name matched
	dashes  uint8 // comment: consecutive '-' seen, up to 2
	bang    bool  // comment: "--!" seen
	// commentStart: only dashes since "<!--", where '>' ends the
	// comment.
	commentStart bool
}

// feed scans p and returns the index just after the first <body> start
// tag's '>' if p holds it, or -1.
func (s *htmlScanner) feed(p []byte) int {
	if !s.started && len(p) > 0 {
		s.started = true
		if p[0] == 0xfe || p[0] == 0xff {
			// A UTF-16 byte order mark (FE FF or FF FE); UTF-8 never
			// starts with these bytes.
			s.state = scanDone
		}
	}
	i := 0
	for i < len(p) {
		switch s.state {
		case scanDone:
			return -1
		case scanData:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return -1
			}
			i += j + 1
			s.state = scanTagOpen
			continue
		case scanRawText:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return -1
			}
			i += j + 1
			s.state = scanRawLT
			continue
		}
		c := p[i]
		i++
		switch s.state {
		case scanTagOpen:
			switch {
			case c == '!':
				s.state = scanMarkupDecl
			case c == '/':
				s.state = scanEndTagOpen
			case isASCIILetter(c):
				s.startName(c, false)
			case c == '?':
				s.state = scanBogusComment
			case c == '<':
				// "<<body>": the first '<' is text.
			default:
				s.state = scanData
			}
		case scanEndTagOpen:
			switch {
			case isASCIILetter(c):
				s.startName(c, true)
			case c == '>':
				s.state = scanData
			default:
				s.state = scanBogusComment
			}
		case scanTagName:
			switch {
			case isHTMLSpace(c):
				s.state = scanBeforeAttrName
			case c == '/':
				s.state = scanSelfClosing
			case c == '>':
				if s.emitTag() {
					return i
				}
			default:
				s.appendName(c)
			}
		case scanBeforeAttrName:
			switch {
			case isHTMLSpace(c):
			case c == '/':
				s.state = scanSelfClosing
			case c == '>':
				if s.emitTag() {
					return i
				}
			default:
				s.state = scanAttrName
			}
		case scanAttrName:
			switch {
			case isHTMLSpace(c):
				s.state = scanAfterAttrName
			case c == '/':
				s.state = scanSelfClosing
			case c == '=':
				s.state = scanBeforeAttrValue
			case c == '>':
				if s.emitTag() {
					return i
				}
			}
		case scanAfterAttrName:
			switch {
			case isHTMLSpace(c):
			case c == '/':
				s.state = scanSelfClosing
			case c == '=':
				s.state = scanBeforeAttrValue
			case c == '>':
				if s.emitTag() {
					return i
				}
			default:
				s.state = scanAttrName
			}
		case scanBeforeAttrValue:
			switch {
			case isHTMLSpace(c):
			case c == '"':
				s.state = scanAttrValueDQ
			case c == '\'':
				s.state = scanAttrValueSQ
			case c == '>':
				if s.emitTag() {
					return i
				}
			default:
				s.state = scanAttrValueUnq
			}
		case scanAttrValueDQ:
			if c == '"' {
				s.state = scanBeforeAttrName
			}
		case scanAttrValueSQ:
			if c == '\'' {
				s.state = scanBeforeAttrName
			}
		case scanAttrValueUnq:
			switch {
			case isHTMLSpace(c):
				s.state = scanBeforeAttrName
			case c == '>':
				if s.emitTag() {
					return i
				}
			}
		case scanSelfClosing:
			if c == '>' {
				if s.emitTag() {
					return i
				}
			} else {
				s.state = scanBeforeAttrName
				i-- // reprocess in the before-attribute-name state
			}
		case scanMarkupDecl:
			switch c {
			case '-':
				s.state = scanMarkupDash
			case '>':
				s.state = scanData
			default:
				s.state = scanBogusComment
			}
		case scanMarkupDash:
			switch c {
			case '-':
				s.state, s.dashes, s.bang, s.commentStart = scanComment, 0, false, true
			case '>':
				s.state = scanData
			default:
				s.state = scanBogusComment
			}
		case scanComment:
			switch {
			case c == '-':
				if s.dashes < 2 {
					s.dashes++
				}
				s.bang = false
			case c == '>' && (s.dashes >= 2 || s.bang || s.commentStart):
				// "-->", "--!>", and the abrupt "<!-->" and
				// "<!--->" that the comment start states end.
				s.state = scanData
			case c == '!' && s.dashes >= 2:
				s.bang, s.dashes, s.commentStart = true, 0, false
			default:
				s.dashes, s.bang, s.commentStart = 0, false, false
			}
		case scanBogusComment:
			if c == '>' {
				s.state = scanData
			}
		case scanRawLT:
			switch c {
			case '/':
				s.state, s.matched = scanRawEndName, 0
			case '<':
			default:
				s.state = scanRawText
			}
		case scanRawEndName:
			switch {
			case s.matched < s.nameLen && toLowerASCII(c) == s.name[s.matched]:
				s.matched++
			case s.matched == s.nameLen && (isHTMLSpace(c) || c == '/' || c == '>'):
				// The raw-text element's end tag; its attributes
				// (an error, but legal to tokenize) run to '>'.
				s.isEnd = true
				s.state = scanBeforeAttrName
				i--
			case c == '<':
				s.state = scanRawLT
			default:
				s.state = scanRawText
			}
		}
	}
	return -1
}

func (s *htmlScanner) startName(c byte, isEnd bool) {
	s.state, s.isEnd = scanTagName, isEnd
	s.nameLen = 0
	s.appendName(c)
}

func (s *htmlScanner) appendName(c byte) {
	if s.nameLen < maxTagName {
		s.name[s.nameLen] = toLowerASCII(c)
	}
	if s.nameLen <= maxTagName {
		s.nameLen++
	}
}

// emitTag is called at the '>' that ends a tag. It reports whether the
// tag was <body>, and moves into raw text after a raw-text element's
// start tag.
func (s *htmlScanner) emitTag() bool {
	s.state = scanData
	if s.isEnd || s.nameLen > maxTagName {
		return false
	}
	switch string(s.name[:s.nameLen]) {
	case "body":
		s.state = scanDone
		return true
	case "plaintext":
		// Everything after <plaintext> is text, so no <body> tag
		// can follow.
		s.state = scanDone
	case "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "title", "textarea":
		// Raw text (RCDATA for title and textarea): only the
		// element's own end tag ends it. <noscript> is raw text
		// because browsers that show the banner run scripts.
		s.state = scanRawText
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func toLowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isHTMLSpace reports the standard's ASCII whitespace for tokenizing:
// tab, line feed, form feed, carriage return and space.
func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}
