package middleware

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// bnrBanner builds a Banner or fails the test.
func bnrBanner(t testing.TB, cfg BannerConfig) *Banner {
	t.Helper()
	b, err := NewBanner(cfg)
	if err != nil {
		t.Fatalf("NewBanner(%+v): %v", cfg, err)
	}
	return b
}

// bnrVerdict is a verdict with the given outcome naming mitmproxy, as the
// classifier reports a browser behind mitmproxy.
func bnrVerdict(o fingerprints.Outcome) *fingerprints.Verdict {
	return &fingerprints.Verdict{Verdict: o, Product: "mitmproxy", Vendor: "mitmproxy project", Kind: fingerprints.KindDebuggingProxy, Confidence: 0.95}
}

// bnrRun serves one request through Wrap into a recorder.
func bnrRun(b *Banner, r *http.Request, v *fingerprints.Verdict, h http.HandlerFunc) (*httptest.ResponseRecorder, http.ResponseWriter) {
	rec := httptest.NewRecorder()
	w, finish := b.Wrap(rec, r, v)
	func() {
		defer finish()
		h(w, r)
	}()
	return rec, w
}

// bnrWithBanner is body with the banner for r inserted at the end of
// the first occurrence of after.
func bnrWithBanner(t testing.TB, b *Banner, r *http.Request, v *fingerprints.Verdict, body, after string) string {
	t.Helper()
	i := strings.Index(body, after)
	if i < 0 {
		t.Fatalf("test bug: %q not in body", after)
	}
	at := i + len(after)
	return body[:at] + string(b.render(r, productLabel(v))) + body[at:]
}

func bnrGzip(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

const bnrPage = "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>Shop</title></head>\n<body class=\"home\">\n<h1>Welcome</h1>\n</body></html>\n"

func TestInjectResponses(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	gz := bnrGzip(t, bnrPage)
	type response struct {
		status  int // 0: the handler never calls WriteHeader
		headers map[string]string
		body    string
	}
	html := map[string]string{"Content-Type": "text/html; charset=utf-8"}
	tests := []struct {
		name   string
		method string
		reqHdr map[string]string
		// outcome names the verdict; "" is intercepted.
		outcome string
		resp    response
		// after is the text the banner must follow; "" means the
		// response must pass through byte for byte.
		after string
		// sameWriter: Wrap must return the recorder itself.
		sameWriter bool
	}{
		{name: "page_with_body_gets_banner_after_body_tag", resp: response{200, html, bnrPage}, after: `<body class="home">`},
		{name: "implicit_200_gets_banner", resp: response{0, html, bnrPage}, after: `<body class="home">`},
		{name: "uppercase_tags", resp: response{200, html, "<HTML><HEAD><TITLE>x</TITLE></HEAD><BODY BGCOLOR=white><P>hi</BODY></HTML>"}, after: "<BODY BGCOLOR=white>"},
		{name: "mixed_case_body_with_newline_before_gt", resp: response{200, html, "<html><bOdY\n\tid=x\n>text"}, after: "<bOdY\n\tid=x\n>"},
		{name: "quoted_gt_inside_body_attributes", resp: response{200, html, `<body data-a="x>y" data-b='p>q' onload="f()">text`}, after: `onload="f()">`},
		{name: "self_closing_body", resp: response{200, html, "<html><body/><p>x"}, after: "<body/>"},
		{name: "body_without_gt_until_end_of_stream_gets_nothing", resp: response{200, html, "<html><body class=x"}},
		{name: "page_without_body_tag_passes_through", resp: response{200, html, "<!doctype html><title>t</title><p>no body tag here</p>"}},
		{name: "fragment_partial_passes_through", resp: response{200, html, `<li class="item">one</li><li>two</li>`}},
		{name: "body_in_comment_is_not_the_tag", resp: response{200, html, "<!-- <body> --><html><body id=real>x"}, after: "<body id=real>"},
		{name: "body_in_script_string_is_not_the_tag", resp: response{200, html, `<head><script>document.write("<body>")</script></head><body id=real>`}, after: "<body id=real>"},
		{name: "body_in_title_is_not_the_tag", resp: response{200, html, "<title><body></title><body id=real>"}, after: "<body id=real>"},
		{name: "body_in_textarea_is_not_the_tag", resp: response{200, html, "<textarea><body></TEXTAREA ><body id=real>"}, after: "<body id=real>"},
		{name: "body_in_noscript_is_not_the_tag", resp: response{200, html, "<head><noscript><body></noscript></head><body id=real>"}, after: "<body id=real>"},
		{name: "bodyguard_is_not_body", resp: response{200, html, "<bodyguard><body id=real>"}, after: "<body id=real>"},
		{name: "body_in_doctype_is_not_the_tag", resp: response{200, html, "<!DOCTYPE html SYSTEM \"<body>\"><body id=real>"}, after: "<body id=real>"},
		{name: "plaintext_hides_everything", resp: response{200, html, "<plaintext><body>"}},
		{name: "explicit_utf8_charset_quoted", resp: response{200, map[string]string{"Content-Type": `TEXT/HTML; Charset="UTF-8"`}, bnrPage}, after: `<body class="home">`},
		{name: "windows_1251_page_gets_ascii_banner", resp: response{200, map[string]string{"Content-Type": "text/html; charset=windows-1251"}, "<body>\xcf\xf0\xe8\xe2\xe5\xf2"}, after: "<body>"},
		{name: "utf16_charset_passes_through", resp: response{200, map[string]string{"Content-Type": "text/html; charset=UTF-16LE"}, "<\x00b\x00o\x00d\x00y\x00>\x00"}},
		{name: "utf16_bom_passes_through", resp: response{200, html, "\xff\xfe<body>"}},
		{name: "gzip_body_passes_through_byte_identical", resp: response{200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, gz}},
		{name: "br_body_passes_through", resp: response{200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "br"}, "\x1b\x03<body>"}},
		{name: "identity_encoding_is_uncompressed", resp: response{200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "identity"}, bnrPage}, after: `<body class="home">`},
		{name: "no_content_type_is_not_sniffed", resp: response{200, nil, bnrPage}},
		{name: "text_plain_passes_through", resp: response{200, map[string]string{"Content-Type": "text/plain"}, bnrPage}},
		{name: "event_stream_passes_through", resp: response{200, map[string]string{"Content-Type": "text/event-stream"}, "data: <body>\n\n"}},
		{name: "json_with_html_string_passes_through", resp: response{200, map[string]string{"Content-Type": "application/json"}, `{"html":"<body>"}`}},
		{name: "attachment_download_passes_through", resp: response{200, map[string]string{"Content-Type": "text/html", "Content-Disposition": `attachment; filename="page.html"`}, bnrPage}},
		{name: "status_404_passes_through", resp: response{404, html, bnrPage}},
		{name: "status_500_passes_through", resp: response{500, html, bnrPage}},
		{name: "status_302_passes_through", resp: response{302, html, bnrPage}},
		{name: "status_206_partial_passes_through", resp: response{206, map[string]string{"Content-Type": "text/html", "Content-Range": "bytes 0-9/100"}, "<body>abcd"}},
		{name: "content_range_on_200_passes_through", resp: response{200, map[string]string{"Content-Type": "text/html", "Content-Range": "bytes 0-9/10"}, "<body>abcd"}},
		{name: "range_request_passes_through_even_as_200", reqHdr: map[string]string{"Range": "bytes=0-"}, resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "head_gets_writer_back", method: http.MethodHead, resp: response{200, html, ""}, sameWriter: true},
		{name: "put_gets_writer_back", method: http.MethodPut, resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "post_form_result_gets_banner", method: http.MethodPost, resp: response{200, html, bnrPage}, after: `<body class="home">`},
		{name: "websocket_upgrade_gets_writer_back", reqHdr: map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "fetch_api_request_gets_writer_back", reqHdr: map[string]string{"Sec-Fetch-Dest": "empty"}, resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "iframe_gets_writer_back", reqHdr: map[string]string{"Sec-Fetch-Dest": "iframe"}, resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "navigation_gets_banner", reqHdr: map[string]string{"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}, resp: response{200, html, bnrPage}, after: `<body class="home">`},
		{name: "clean_verdict_gets_writer_back", outcome: "clean", resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "spoofed_verdict_gets_writer_back", outcome: "spoofed", resp: response{200, html, bnrPage}, sameWriter: true},
		{name: "unknown_verdict_gets_writer_back", outcome: "unknown", resp: response{200, html, bnrPage}, sameWriter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "https://shop.example/", nil)
			for k, v := range tt.reqHdr {
				r.Header.Set(k, v)
			}
			outcome := fingerprints.OutcomeIntercepted
			if tt.outcome != "" {
				if err := outcome.UnmarshalText([]byte(tt.outcome)); err != nil {
					t.Fatal(err)
				}
			}
			v := bnrVerdict(outcome)
			rec, w := bnrRun(b, r, v, func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				for k, v := range tt.resp.headers {
					h.Set(k, v)
				}
				h.Set("Content-Length", fmt.Sprint(len(tt.resp.body)))
				h.Set("ETag", `"v1"`)
				h.Set("Cache-Control", "public, max-age=60")
				if tt.resp.status != 0 {
					w.WriteHeader(tt.resp.status)
				}
				if n, err := io.WriteString(w, tt.resp.body); n != len(tt.resp.body) || err != nil {
					t.Errorf("Write = %d, %v; want %d, nil", n, err, len(tt.resp.body))
				}
			})
			if tt.sameWriter && w != http.ResponseWriter(rec) {
				t.Errorf("Wrap returned %T, want the recorder itself", w)
			}
			got := rec.Body.String()
			if tt.after == "" {
				if got != tt.resp.body {
					t.Errorf("body changed:\n got %q\nwant %q", got, tt.resp.body)
				}
				if cl := rec.Header().Get("Content-Length"); cl != fmt.Sprint(len(tt.resp.body)) {
					t.Errorf("Content-Length = %q, want the handler's %d", cl, len(tt.resp.body))
				}
				if et, cc := rec.Header().Get("ETag"), rec.Header().Get("Cache-Control"); et != `"v1"` || cc != "public, max-age=60" {
					t.Errorf("ETag, Cache-Control = %q, %q; want the handler's", et, cc)
				}
				return
			}
			if want := bnrWithBanner(t, b, r, v, tt.resp.body, tt.after); got != want {
				t.Errorf("body:\n got %q\nwant %q", got, want)
			}
			if n := strings.Count(got, "data-mitmwatch-banner "); n != 1 {
				t.Errorf("%d banners, want 1", n)
			}
			h := rec.Header()
			if cl := h.Get("Content-Length"); cl != fmt.Sprint(len(got)) {
				t.Errorf("Content-Length = %q after injection, want %d", cl, len(got))
			}
			if et, cc := h.Get("ETag"), h.Get("Cache-Control"); et != "" || cc != "no-store" {
				t.Errorf("ETag, Cache-Control = %q, %q; want removed, no-store", et, cc)
			}
		})
	}
}

// TestInjectGzipDecodesWithoutBanner proves a gzip page is not touched
// inside: decompressed it is the handler's page, with no banner.
func TestInjectGzipDecodesWithoutBanner(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	gz := bnrGzip(t, bnrPage)
	rec, _ := bnrRun(b, r, bnrVerdict(fingerprints.OutcomeIntercepted), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		for i := 0; i < len(gz); i += 7 { // many small writes
			io.WriteString(w, gz[i:min(i+7, len(gz))])
		}
	})
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("gzip body no longer decodes: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || string(plain) != bnrPage {
		t.Fatalf("decoded = %q, %v; want the page unchanged", plain, err)
	}
}

// bnrSplitDocs are pages whose <body> tag the split tests cut at every
// byte.
var bnrSplitDocs = []struct{ doc, after string }{
	{bnrPage, `<body class="home">`},
	{"<HTML><BODY>x</BODY>", "<BODY>"},
	{"<!-- <body> --><script>'<body>'</script><BoDy data-x='a>b' data-y=\"<body>\" z=w>tail", "z=w>"},
	{"<body/>", "<body/>"},
	{"<!--> <body>", "<!--> <body>"},
}

// TestInjectSplitAtEveryOffset cuts each page into two writes at every
// byte, and into three writes at every pair of offsets in and around the
// <body> tag: the output must be the same as for one write.
func TestInjectSplitAtEveryOffset(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	v := bnrVerdict(fingerprints.OutcomeIntercepted)
	for _, d := range bnrSplitDocs {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		want := bnrWithBanner(t, b, r, v, d.doc, d.after)
		serve := func(cuts ...int) string {
			rec, _ := bnrRun(b, r, v, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				prev := 0
				for _, c := range append(cuts, len(d.doc)) {
					if n, err := io.WriteString(w, d.doc[prev:c]); n != c-prev || err != nil {
						t.Fatalf("Write = %d, %v", n, err)
					}
					prev = c
				}
			})
			return rec.Body.String()
		}
		for k := 0; k <= len(d.doc); k++ {
			if got := serve(k); got != want {
				t.Fatalf("doc %q cut at %d:\n got %q\nwant %q", d.doc, k, got, want)
			}
		}
		// Every pair of cuts from a few bytes before the tag's start
		// to after its end.
		end := strings.Index(d.doc, d.after) + len(d.after)
		start := max(0, strings.LastIndex(d.doc[:end], "<")-2)
		for i := start; i <= end; i++ {
			for j := i; j <= min(end+1, len(d.doc)); j++ {
				if got := serve(i, j); got != want {
					t.Fatalf("doc %q cut at %d and %d:\n got %q\nwant %q", d.doc, i, j, got, want)
				}
			}
		}
		// One byte per write.
		var cuts []int
		for k := 1; k < len(d.doc); k++ {
			cuts = append(cuts, k)
		}
		if got := serve(cuts...); got != want {
			t.Fatalf("doc %q one byte per write:\n got %q\nwant %q", d.doc, got, want)
		}
	}
}

// bnrFailingWriter fails every write after the first limit bytes.
type bnrFailingWriter struct {
	*httptest.ResponseRecorder
	limit int
}

var errBnrWrite = errors.New("connection reset")

func (f *bnrFailingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.limit {
		f.limit -= len(p)
		return f.ResponseRecorder.Write(p)
	}
	n, _ := f.ResponseRecorder.Write(p[:f.limit])
	f.limit = 0
	return n, errBnrWrite
}

// TestInjectWriteErrors proves a failed write reports how much of the
// handler's own bytes went out (never the banner's) and the error.
func TestInjectWriteErrors(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	page := "<html><body>after"
	at := len("<html><body>")
	for _, tt := range []struct {
		name  string
		limit int
		wantN int
	}{
		{"fails_before_body_tag_end", 3, 3},
		{"fails_inside_banner", at + 10, at},
		{"fails_after_banner", at + len(b.render(httptest.NewRequest("GET", "/", nil), "mitmproxy")) + 2, at + 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fw := &bnrFailingWriter{httptest.NewRecorder(), tt.limit}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w, finish := b.Wrap(fw, r, bnrVerdict(fingerprints.OutcomeIntercepted))
			defer finish()
			w.Header().Set("Content-Type", "text/html")
			n, err := io.WriteString(w, page)
			if n != tt.wantN || !errors.Is(err, errBnrWrite) {
				t.Errorf("Write = %d, %v; want %d, %v", n, err, tt.wantN, errBnrWrite)
			}
		})
	}
}

// bnrProtos are the protocols the server tests run over.
var bnrProtos = []string{"HTTP/1.1", "HTTP/2.0"}

// bnrServer starts a TLS test server for h speaking proto and returns
// its URL and a client that speaks proto to it.
func bnrServer(t *testing.T, proto string, h http.Handler) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = proto == "HTTP/2.0"
	// net/http logs writes after a hijack, which a test makes on purpose.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := srv.Client()
	if proto == "HTTP/1.1" {
		tr := c.Transport.(*http.Transport).Clone()
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		c = &http.Client{Transport: tr}
	}
	c.Timeout = 30 * time.Second // a guard against hanging, not an assertion
	return srv.URL, c
}

// TestInjectContentLengthOverHTTP proves HTTP/1.1 and HTTP/2 clients get
// the whole page with the banner when the handler set Content-Length for
// the page without it: the exact new length when the <body> tag comes
// within the hold, none when a Flush or a long <head> ended the hold
// first; that an early 103 does not decide the response; and that HEAD,
// 204 and 304 still have no body.
func TestInjectContentLengthOverHTTP(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	v := bnrVerdict(fingerprints.OutcomeIntercepted)
	big := "<html><body>" + strings.Repeat("<p>paragraph of text</p>\n", 4000) + "</body></html>"
	bigHead := "<html><head><style>" + strings.Repeat("p{color:red}\n", maxHeldBytes/10) + "</style></head><body>x</body></html>"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, finish := b.Wrap(w, r, v)
		defer finish()
		page := bnrPage
		switch r.URL.Path {
		case "/big":
			page = big
		case "/big-head":
			page = bigHead
		case "/early-hints":
			w.Header().Set("Link", "</app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
			return
		case "/304":
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		if r.URL.Path == "/early-flush" {
			at := strings.Index(page, "<body")
			io.WriteString(w, page[:at])
			w.(http.Flusher).Flush()
			page = page[at:]
		}
		for i := 0; i < len(page); i += 4096 {
			io.WriteString(w, page[i:min(i+4096, len(page))])
		}
	})
	for _, proto := range bnrProtos {
		base, c := bnrServer(t, proto, h)
		for _, tt := range []struct {
			method, path string
			status       int
			page         string
			after        string
			exactLength  bool
		}{
			{"GET", "/", 200, bnrPage, `<body class="home">`, true},
			{"GET", "/big", 200, big, "<body>", true},
			{"GET", "/early-hints", 200, bnrPage, `<body class="home">`, true},
			{"GET", "/early-flush", 200, bnrPage, `<body class="home">`, false},
			{"GET", "/big-head", 200, bigHead, "<body>", false},
			{"HEAD", "/", 200, "", "", true},
			{"GET", "/204", 204, "", "", false},
			{"GET", "/304", 304, "", "", false},
		} {
			t.Run(proto+tt.method+tt.path, func(t *testing.T) {
				req, _ := http.NewRequest(tt.method, base+tt.path, nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("reading body: %v", err)
				}
				if resp.Proto != proto || resp.StatusCode != tt.status {
					t.Fatalf("got %s %d, want %s %d", resp.Proto, resp.StatusCode, proto, tt.status)
				}
				want := ""
				if tt.after != "" {
					want = bnrWithBanner(t, b, req, v, tt.page, tt.after)
				}
				if string(body) != want {
					t.Errorf("body (%d bytes) is not the page with the banner (%d bytes)", len(body), len(want))
				}
				switch {
				case tt.method == "HEAD":
					if resp.ContentLength != int64(len(bnrPage)) {
						t.Errorf("HEAD Content-Length %d, want the handler's %d", resp.ContentLength, len(bnrPage))
					}
				case tt.exactLength:
					if resp.ContentLength != int64(len(body)) {
						t.Errorf("Content-Length %d for a %d-byte body", resp.ContentLength, len(body))
					}
				case tt.status == 200:
					if resp.ContentLength != -1 {
						t.Errorf("Content-Length %d after the hold ended early, want none (-1)", resp.ContentLength)
					}
				}
			})
		}
	}
}

// TestInjectStreamsBeforeHandlerReturns proves the banner and the bytes
// before a flush reach the client while the handler is still running:
// the handler does not go on until the client has read them, so a writer
// that buffered the page would deadlock (and the client's timeout fail
// the test).
func TestInjectStreamsBeforeHandlerReturns(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	v := bnrVerdict(fingerprints.OutcomeIntercepted)
	for _, proto := range bnrProtos {
		for _, flush := range []string{"Flusher", "ResponseController"} {
			t.Run(proto+"/"+flush, func(t *testing.T) {
				seen := make(chan struct{})
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w, finish := b.Wrap(w, r, v)
					defer finish()
					w.Header().Set("Content-Type", "text/html")
					io.WriteString(w, "<html><head><title>slow</title></head><bo")
					io.WriteString(w, "dy>first part")
					if flush == "Flusher" {
						w.(http.Flusher).Flush()
					} else if err := http.NewResponseController(w).Flush(); err != nil {
						t.Errorf("ResponseController.Flush: %v", err)
					}
					select {
					case <-seen:
					case <-r.Context().Done():
						return
					}
					io.WriteString(w, " second part</body></html>")
				})
				base, c := bnrServer(t, proto, h)
				resp, err := c.Get(base)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				br := bufio.NewReader(resp.Body)
				var got []byte
				for !bytes.Contains(got, []byte("first part")) {
					c, err := br.ReadByte()
					if err != nil {
						t.Fatalf("read %q then %v", got, err)
					}
					got = append(got, c)
				}
				if !bytes.Contains(got, []byte("data-mitmwatch-banner")) {
					t.Errorf("streamed part %q has no banner", got)
				}
				close(seen)
				rest, err := io.ReadAll(br)
				if err != nil || string(rest) != " second part</body></html>" {
					t.Errorf("rest = %q, %v", rest, err)
				}
			})
		}
	}
}

// TestInjectHijack proves an HTTP/1.1 handler can still hijack the
// connection, by type assertion and through http.ResponseController,
// and that nothing is injected into what it writes there; and that over
// HTTP/2, where hijacking is impossible, the wrapper does not pretend to
// be a Hijacker.
func TestInjectHijack(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	v := bnrVerdict(fingerprints.OutcomeIntercepted)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, finish := b.Wrap(w, r, v)
		defer finish()
		_, isHijacker := w.(http.Hijacker)
		if r.ProtoMajor == 2 {
			if isHijacker {
				t.Errorf("HTTP/2 wrapper claims to be an http.Hijacker")
			}
			if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
				t.Errorf("HTTP/2 Hijack error = %v, want ErrNotSupported", err)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !isHijacker {
			t.Errorf("HTTP/1.1 wrapper %T is not an http.Hijacker", w)
		}
		w.Header().Set("Content-Type", "text/html")
		var (
			conn net.Conn
			brw  *bufio.ReadWriter
			err  error
		)
		if r.URL.Path == "/assert" {
			conn, brw, err = w.(http.Hijacker).Hijack()
		} else {
			conn, brw, err = http.NewResponseController(w).Hijack()
		}
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		body := "<html><body>raw"
		fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		brw.Flush()
		if _, err := io.WriteString(w, "<body>"); !errors.Is(err, http.ErrHijacked) {
			t.Errorf("Write after Hijack = %v, want ErrHijacked", err)
		}
	})
	for _, proto := range bnrProtos {
		base, c := bnrServer(t, proto, h)
		for _, path := range []string{"/assert", "/controller"} {
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatalf("%s %s: %v", proto, path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if proto == "HTTP/1.1" && string(body) != "<html><body>raw" {
				t.Errorf("%s %s: body %q, want the hijacker's bytes untouched", proto, path, body)
			}
		}
	}
}

// TestInjectResponseControllerReachesServer proves deadlines and full
// duplex still reach net/http's writer through Unwrap.
func TestInjectResponseControllerReachesServer(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	v := bnrVerdict(fingerprints.OutcomeIntercepted)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, finish := b.Wrap(w, r, v)
		defer finish()
		if _, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok {
			t.Errorf("%T has no Unwrap", w)
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetReadDeadline: %v", err)
		}
		if r.ProtoMajor == 1 {
			if err := rc.EnableFullDuplex(); err != nil {
				t.Errorf("EnableFullDuplex: %v", err)
			}
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<body>ok")
	})
	for _, proto := range bnrProtos {
		base, c := bnrServer(t, proto, h)
		resp, err := c.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(body, []byte("data-mitmwatch-banner")) {
			t.Errorf("%s: no banner in %q", proto, body)
		}
	}
}

// TestWrapRefusesAllButIntercepted is the defence in depth: whatever
// the caller passes, only an intercepted verdict is wrapped.
func TestWrapRefusesAllButIntercepted(t *testing.T) {
	enabled := bnrBanner(t, BannerConfig{})
	disabled := bnrBanner(t, BannerConfig{Disabled: true})
	for _, tt := range []struct {
		name string
		b    *Banner
		v    *fingerprints.Verdict
	}{
		{"clean", enabled, bnrVerdict(fingerprints.OutcomeClean)},
		{"spoofed_bot_wearing_browser_ua", enabled, bnrVerdict(fingerprints.OutcomeSpoofed)},
		{"unknown", enabled, bnrVerdict(fingerprints.OutcomeUnknown)},
		{"out_of_range_outcome", enabled, bnrVerdict(fingerprints.Outcome(200))},
		{"nil_verdict", enabled, nil},
		{"disabled_banner", disabled, bnrVerdict(fingerprints.OutcomeIntercepted)},
		{"nil_banner", nil, bnrVerdict(fingerprints.OutcomeIntercepted)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w, finish := tt.b.Wrap(rec, r, tt.v)
			finish()
			if w != http.ResponseWriter(rec) {
				t.Errorf("Wrap returned %T, want the writer itself", w)
			}
		})
	}
}

// TestWrapDoesNotAllocateWhenRefusing holds the per-request cost of the
// common case (no interception) at zero allocations.
func TestWrapDoesNotAllocateWhenRefusing(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Language", "ru-RU,ru;q=0.9,en;q=0.8")
	clean := bnrVerdict(fingerprints.OutcomeClean)
	head := httptest.NewRequest(http.MethodHead, "/", nil)
	intercepted := bnrVerdict(fingerprints.OutcomeIntercepted)
	allocs := testing.AllocsPerRun(100, func() {
		_, finish := b.Wrap(rec, r, clean)
		finish()
		_, finish = b.Wrap(rec, head, intercepted)
		finish()
	})
	if allocs != 0 {
		t.Errorf("Wrap allocates %v times per refused request, want 0", allocs)
	}
}
