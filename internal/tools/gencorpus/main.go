// Command gencorpus writes the detection corpus (testdata/corpus/cases.yaml)
// from the project's captures in testdata/clienthello. Every case's
// expected verdict follows from how the case was produced, never from
// mitmwatch's output:
//
//   - a browser (or a utls parrot of one) with its own User-Agent is clean;
//   - a browser through mitmproxy, with the browser's own request headers,
//     is intercepted;
//   - a program (curl, Go, Python, okhttp, a utls parrot) presenting a
//     browser's User-Agent without a browser's request headers is spoofed;
//   - the same library stacks presenting a browser's User-Agent with a
//     browser's headers are what an interceptor built on them forwards:
//     intercepted;
//   - a program with its own User-Agent is clean (not judged);
//   - a genuine browser hello under another browser family's User-Agent
//     with browser headers is a User-Agent switcher: unknown.
//
// Headless Chromium announces itself as HeadlessChrome, which mitmwatch
// rightly counts as automation; the person cases replace that token with
// Chrome, as a person's Chromium sends it.
//
//	go run ./internal/tools/gencorpus > testdata/corpus/cases.yaml
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type capture struct {
	Name      string `json:"name"`
	Family    string `json:"family"`
	Product   string `json:"product"`
	Version   string `json:"version"`
	UserAgent string `json:"user_agent"`
	Via       string `json:"via"`
	Request   *struct {
		Proto   string              `json:"proto"`
		Headers map[string][]string `json:"headers"`
	} `json:"request"`
}

const (
	chromeUA  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:153.0) Gecko/20100101 Firefox/153.0"
	safariUA  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15"
)

// browserHeaders are what Chromium 156 sent on a page load in the
// project's own capture (chromium-156-direct), minus the User-Agent.
var chromiumHeaders = map[string]string{
	"Accept":                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
	"Accept-Encoding":           "gzip, deflate, br, zstd",
	"Accept-Language":           "en-US,en;q=0.9",
	"Sec-Ch-Ua":                 `"Not:A-Brand";v="8", "Chromium";v="156"`,
	"Sec-Ch-Ua-Mobile":          "?0",
	"Sec-Ch-Ua-Platform":        `"Windows"`,
	"Sec-Fetch-Dest":            "document",
	"Sec-Fetch-Mode":            "navigate",
	"Sec-Fetch-Site":            "none",
	"Sec-Fetch-User":            "?1",
	"Upgrade-Insecure-Requests": "1",
}

var firefoxHeaders = map[string]string{
	"Accept":                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"Accept-Encoding":           "gzip, deflate, br, zstd",
	"Accept-Language":           "en-US,en;q=0.5",
	"Sec-Fetch-Dest":            "document",
	"Sec-Fetch-Mode":            "navigate",
	"Sec-Fetch-Site":            "none",
	"Sec-Fetch-User":            "?1",
	"Upgrade-Insecure-Requests": "1",
}

// headersForVersion returns the page-load headers the browser version in
// ua sends: Sec-Fetch-* from Chrome 76 and Firefox 90 (Safari 16.4), client
// hints from Chrome 89, Accept-Language and Upgrade-Insecure-Requests
// always. A parrot of an old version must not carry a new version's hints,
// which would (rightly) override its User-Agent.
func headersForVersion(family, ua string) map[string]string {
	major := majorOf(ua, family)
	h := map[string]string{
		"Accept":                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language":           "en-US,en;q=0.9",
		"Upgrade-Insecure-Requests": "1",
	}
	fetch := family == "chromium" && major >= 76 || family == "firefox" && major >= 90 || family == "safari" && major >= 17
	if fetch {
		h["Sec-Fetch-Dest"], h["Sec-Fetch-Mode"], h["Sec-Fetch-Site"] = "document", "navigate", "none"
	}
	if family == "chromium" && major >= 89 {
		h["Sec-Ch-Ua"] = fmt.Sprintf(`"Chromium";v="%d", "Not(A:Brand";v="99"`, major)
		h["Sec-Ch-Ua-Mobile"] = "?0"
	}
	return h
}

func majorOf(ua, family string) int {
	tok := map[string]string{"chromium": "Chrome/", "firefox": "Firefox/", "safari": "Version/"}[family]
	i := strings.Index(ua, tok)
	if i < 0 {
		return 0
	}
	n := 0
	for _, r := range ua[i+len(tok):] {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

type tcase struct {
	name, hello, ua, expect, why string
	headers                      map[string]string
	proto                        int
}

func main() {
	in := flag.String("in", "testdata/clienthello", "folder of captures")
	rel := flag.String("rel", "../clienthello", "path of that folder as seen from the corpus folder")
	flag.Parse()
	cases, err := build(*in, *rel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
	write(os.Stdout, cases)
}

func build(dir, rel string) ([]tcase, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []tcase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c capture
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		hello := rel + "/" + c.Name + ".hex"
		add := func(suffix, ua, expect, why string, headers map[string]string) {
			out = append(out, tcase{name: c.Name + suffix, hello: hello, ua: ua, expect: expect, why: why, headers: headers, proto: 2})
		}
		captured := map[string]string{}
		if c.Request != nil {
			for k, v := range c.Request.Headers {
				if len(v) > 0 && !strings.EqualFold(k, "User-Agent") {
					captured[k] = v[0]
				}
			}
		}
		person := strings.Replace(c.UserAgent, "HeadlessChrome/", "Chrome/", 1)
		isParrot := strings.HasPrefix(c.Name, "utls-")
		library := c.Family == "other" || strings.Contains(c.Name, "okhttp")
		switch {
		case c.Via == "mitmproxy" && c.Family != "other":
			add("", person, "intercepted", "a real "+c.Product+" browsing through mitmproxy; its own request headers as mitmproxy forwarded them", captured)
			if person != c.UserAgent {
				add("/headless-ua", c.UserAgent, "clean", "the same, with the HeadlessChrome User-Agent: a self-declared automation client is not judged", captured)
			}
		case c.Via == "mitmproxy":
			add("", c.UserAgent, "clean", "curl through mitmproxy with its own User-Agent: a program, not judged", captured)
		case !isParrot && !library:
			add("", person, "clean", "a real "+c.Product+" connecting directly, with its own request headers", captured)
			other, otherHeaders := firefoxUA, firefoxHeaders
			if c.Family == "firefox" {
				other, otherHeaders = chromeUA, chromiumHeaders
			}
			add("/ua-switcher", other, "unknown", "a real "+c.Product+" hello under another browser's User-Agent, with browser headers: a User-Agent switcher", otherHeaders)
		case library:
			add("", c.UserAgent, "clean", c.Product+" with its own User-Agent", nil)
			add("/chrome-ua", chromeUA, "spoofed", c.Product+" presenting Chrome's User-Agent without a browser's headers: a bot", nil)
			add("/chrome-ua-browser-headers", chromeUA, "intercepted", "Chrome's request forwarded over a "+c.Product+" TLS stack: what an interceptor built on it sends", chromiumHeaders)
			add("/firefox-ua-browser-headers", firefoxUA, "intercepted", "Firefox's request forwarded over a "+c.Product+" TLS stack", firefoxHeaders)
		default: // a browser parrot
			headers := headersForVersion(c.Family, c.UserAgent)
			add("", c.UserAgent, "clean", "utls parrot of "+c.Product+" "+c.Version+" with that browser's User-Agent", nil)
			add("/browser-headers", c.UserAgent, "clean", "the same with a browser's request headers", headers)
			wrong := firefoxUA
			if c.Family == "firefox" {
				wrong = chromeUA
			}
			if c.Name == "utls-360-7.5" {
				// A 2015 Chromium fork: modern Firefox under its hello is
				// still a mismatch, but the parrot predates the traits
				// the Chromium checks rely on.
				wrong = firefoxUA
			}
			add("/wrong-ua", wrong, "spoofed", "utls parrot of "+c.Product+" "+c.Version+" presenting another browser family's User-Agent without browser headers: a bot", nil)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func write(w io.Writer, cases []tcase) {
	fmt.Fprintln(w, "# Generated by internal/tools/gencorpus from testdata/clienthello: each expected verdict")
	fmt.Fprintln(w, "# follows from how the case was produced (see the tool's doc comment and each case's why).")
	fmt.Fprintln(w, "cases:")
	for _, c := range cases {
		fmt.Fprintf(w, "  - name: %s\n    hello: %s\n    user_agent: %q\n    expect: %s\n    why: %q\n", c.name, c.hello, c.ua, c.expect, c.why)
		if len(c.headers) > 0 {
			keys := make([]string, 0, len(c.headers))
			for k := range c.headers {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintln(w, "    headers:")
			for _, k := range keys {
				fmt.Fprintf(w, "      %s: %q\n", k, c.headers[k])
			}
		}
	}
}
