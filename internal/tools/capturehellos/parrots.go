package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	utls "github.com/refraction-networking/utls"
)

// parrot is one utls ClientHelloID to capture, with the metadata of the
// browser it imitates.
type parrot struct {
	// IDName is the utls variable name, e.g. "HelloChrome_133". A test
	// checks that every parrot variable of the utls source is listed.
	IDName string
	ID     utls.ClientHelloID
	// Name is the capture's file stem.
	Name    string
	Family  string
	Product string
	Version string
	// UserAgent is what that browser version sends. A parrot sends no
	// HTTP, so this is assigned by hand: a plausible, not a measured,
	// value.
	UserAgent string
}

// User-Agent templates. Chrome froze the minor, build and patch numbers of
// its UA version to 0.0.0 from Chrome 101 on ("User-Agent Reduction"
// phase 4, https://www.chromium.org/updates/ua-reduction/), so later
// versions read "Chrome/N.0.0.0"; earlier ones carry a full version number
// (a stable release of that major).
func chromeUA(full string) string {
	return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + full + " Safari/537.36"
}

func edgeUA(chrome, edge string) string { return chromeUA(chrome) + " Edg/" + edge }

// firefoxUA follows Firefox's desktop format (rv: and Firefox/ carry the
// same major version, Gecko/20100101 is frozen).
func firefoxUA(major int) string {
	v := strconv.Itoa(major) + ".0"
	return "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:" + v + ") Gecko/20100101 Firefox/" + v
}

// iosUA is Mobile Safari on an iPhone; osVer uses underscores ("14_0").
func iosUA(osVer, webkit, safariVer, build string) string {
	return "Mozilla/5.0 (iPhone; CPU iPhone OS " + osVer + " like Mac OS X) AppleWebKit/" + webkit +
		" (KHTML, like Gecko) Version/" + safariVer + " Mobile/" + build + " Safari/604.1"
}

// parrots lists every browser parrot of utls v1.8.2 (u_common.go), leaving
// out HelloGolang, HelloCustom, HelloRandomized* and the *_Auto aliases,
// which are not browsers or duplicate an entry here.
func parrots() []parrot {
	chrome := func(idName string, id utls.ClientHelloID, name, version, uaVersion string) parrot {
		return parrot{idName, id, name, familyChromium, "Chrome", version, chromeUA(uaVersion)}
	}
	firefox := func(idName string, id utls.ClientHelloID, major int) parrot {
		v := strconv.Itoa(major)
		return parrot{idName, id, "utls-firefox-" + v, familyFirefox, "Firefox", v, firefoxUA(major)}
	}
	return []parrot{
		chrome("HelloChrome_58", utls.HelloChrome_58, "utls-chrome-58", "58", "58.0.3029.110"),
		chrome("HelloChrome_62", utls.HelloChrome_62, "utls-chrome-62", "62", "62.0.3202.94"),
		chrome("HelloChrome_70", utls.HelloChrome_70, "utls-chrome-70", "70", "70.0.3538.110"),
		chrome("HelloChrome_72", utls.HelloChrome_72, "utls-chrome-72", "72", "72.0.3626.121"),
		chrome("HelloChrome_83", utls.HelloChrome_83, "utls-chrome-83", "83", "83.0.4103.116"),
		chrome("HelloChrome_87", utls.HelloChrome_87, "utls-chrome-87", "87", "87.0.4280.141"),
		chrome("HelloChrome_96", utls.HelloChrome_96, "utls-chrome-96", "96", "96.0.4664.110"),
		chrome("HelloChrome_100", utls.HelloChrome_100, "utls-chrome-100", "100", "100.0.4896.127"),
		chrome("HelloChrome_102", utls.HelloChrome_102, "utls-chrome-102", "102", "102.0.0.0"),
		chrome("HelloChrome_106_Shuffle", utls.HelloChrome_106_Shuffle, "utls-chrome-106-shuffle", "106", "106.0.0.0"),
		chrome("HelloChrome_100_PSK", utls.HelloChrome_100_PSK, "utls-chrome-100-psk", "100", "100.0.4896.127"),
		chrome("HelloChrome_112_PSK_Shuf", utls.HelloChrome_112_PSK_Shuf, "utls-chrome-112-psk-shuf", "112", "112.0.0.0"),
		chrome("HelloChrome_114_Padding_PSK_Shuf", utls.HelloChrome_114_Padding_PSK_Shuf, "utls-chrome-114-padding-psk-shuf", "114", "114.0.0.0"),
		chrome("HelloChrome_115_PQ", utls.HelloChrome_115_PQ, "utls-chrome-115-pq", "115", "115.0.0.0"),
		chrome("HelloChrome_115_PQ_PSK", utls.HelloChrome_115_PQ_PSK, "utls-chrome-115-pq-psk", "115", "115.0.0.0"),
		chrome("HelloChrome_120", utls.HelloChrome_120, "utls-chrome-120", "120", "120.0.0.0"),
		chrome("HelloChrome_120_PQ", utls.HelloChrome_120_PQ, "utls-chrome-120-pq", "120", "120.0.0.0"),
		chrome("HelloChrome_131", utls.HelloChrome_131, "utls-chrome-131", "131", "131.0.0.0"),
		chrome("HelloChrome_133", utls.HelloChrome_133, "utls-chrome-133", "133", "133.0.0.0"),

		firefox("HelloFirefox_55", utls.HelloFirefox_55, 55),
		firefox("HelloFirefox_56", utls.HelloFirefox_56, 56),
		firefox("HelloFirefox_63", utls.HelloFirefox_63, 63),
		firefox("HelloFirefox_65", utls.HelloFirefox_65, 65),
		firefox("HelloFirefox_99", utls.HelloFirefox_99, 99),
		firefox("HelloFirefox_102", utls.HelloFirefox_102, 102),
		firefox("HelloFirefox_105", utls.HelloFirefox_105, 105),
		firefox("HelloFirefox_120", utls.HelloFirefox_120, 120),

		// Every iOS browser uses Apple's TLS stack; the UA is Mobile
		// Safari's on an iPhone with that iOS version.
		{"HelloIOS_11_1", utls.HelloIOS_11_1, "utls-ios-11.1", familySafari, "Safari (iOS)", "11.1",
			iosUA("11_1", "604.3.5", "11.0", "15B92")},
		{"HelloIOS_12_1", utls.HelloIOS_12_1, "utls-ios-12.1", familySafari, "Safari (iOS)", "12.1",
			iosUA("12_1", "605.1.15", "12.0", "15E148")},
		{"HelloIOS_13", utls.HelloIOS_13, "utls-ios-13", familySafari, "Safari (iOS)", "13",
			iosUA("13_0", "605.1.15", "13.0", "15E148")},
		{"HelloIOS_14", utls.HelloIOS_14, "utls-ios-14", familySafari, "Safari (iOS)", "14",
			iosUA("14_0", "605.1.15", "14.0", "15E148")},
		{"HelloSafari_16_0", utls.HelloSafari_16_0, "utls-safari-16", familySafari, "Safari", "16.0",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Safari/605.1.15"},

		{"HelloEdge_85", utls.HelloEdge_85, "utls-edge-85", familyChromium, "Edge", "85",
			edgeUA("85.0.4183.121", "85.0.564.63")},
		{"HelloEdge_106", utls.HelloEdge_106, "utls-edge-106", familyChromium, "Edge", "106",
			edgeUA("106.0.0.0", "106.0.1370.52")},

		// OkHttp's default User-Agent is "okhttp/<version>".
		{"HelloAndroid_11_OkHttp", utls.HelloAndroid_11_OkHttp, "utls-android-11-okhttp", familyOther, "OkHttp (Android 11)", "11",
			"okhttp/4.9.3"},

		// 360 and QQ browsers are Chromium-based and send a Chrome UA for
		// their Chromium core (QQ appends its own token). The Chrome
		// versions are approximate: the 360 7.5 hello offers RC4 and no
		// TLS 1.3, an early Chrome core; 360 11.0 and QQ 11.1 are TLS 1.3
		// with GREASE.
		{"Hello360_7_5", utls.Hello360_7_5, "utls-360-7.5", familyChromium, "360 Browser", "7.5",
			"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/31.0.1650.63 Safari/537.36"},
		{"Hello360_11_0", utls.Hello360_11_0, "utls-360-11.0", familyChromium, "360 Browser", "11.0",
			"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36"},
		{"HelloQQ_11_1", utls.HelloQQ_11_1, "utls-qq-11.1", familyChromium, "QQ Browser", "11.1",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.71 Safari/537.36 Core/1.94.186.400 QQBrowser/11.1.5140.400"},
	}
}

// captureParrot dials the capture server, runs a utls handshake with the
// parrot's ClientHello and returns the hello the server recorded for that
// connection. A failed handshake is not an error: old parrots offer things
// Go's server will not do, but the server has read their hello by then. It
// is reported in the returned handshake error.
//
// The PSK parrots stand for the hello Chrome sends when it resumes a TLS
// 1.3 session (utls refuses to send their pre_shared_key extension empty),
// so they get what Chrome had: a first full handshake with the same
// server, whose session ticket the second, captured, hello offers.
func captureParrot(ctx context.Context, srv *captureServer, p parrot, timeout time.Duration) (raw []byte, handshakeErr error, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := &utls.Config{ServerName: "localhost", InsecureSkipVerify: true}
	if p.resumes() {
		cfg.ClientSessionCache = utls.NewLRUClientSessionCache(1)
		if err := primeSession(ctx, srv, p, cfg); err != nil {
			return nil, nil, fmt.Errorf("capturehellos: %s: first handshake: %w", p.Name, err)
		}
	}
	local, handshakeErr, err := parrotHandshake(ctx, srv, p.ID, cfg, false)
	if err != nil {
		return nil, nil, fmt.Errorf("capturehellos: %s: %w", p.Name, err)
	}
	h, err := srv.byPeer.wait(ctx, local)
	if err != nil {
		if handshakeErr != nil {
			err = fmt.Errorf("%w (handshake: %v)", err, handshakeErr)
		}
		return nil, handshakeErr, fmt.Errorf("capturehellos: %s: no hello recorded: %w", p.Name, err)
	}
	return h.Raw, handshakeErr, nil
}

// resumes reports whether the parrot's hello is a resumption (it carries
// a pre_shared_key extension).
func (p parrot) resumes() bool { return strings.Contains(p.IDName, "_PSK") }

// primeSession runs a full handshake with the parrot, leaving the empty
// PSK extension out, and reads until the server's TLS 1.3 NewSessionTicket
// has been processed into cfg.ClientSessionCache.
func primeSession(ctx context.Context, srv *captureServer, p parrot, cfg *utls.Config) error {
	first := cfg.Clone()
	first.OmitEmptyPsk = true
	if _, hsErr, err := parrotHandshake(ctx, srv, p.ID, first, true); err != nil {
		return err
	} else if hsErr != nil {
		return hsErr
	}
	if _, ok := cfg.ClientSessionCache.Get(cacheKey(cfg)); !ok {
		return errors.New("no session ticket received")
	}
	return nil
}

// cacheKey is the ClientSessionCache key crypto/tls (and utls) use for a
// client without an explicit key: the server name.
func cacheKey(cfg *utls.Config) string { return cfg.ServerName }

// parrotHandshake dials the server and runs one utls handshake. With
// readTicket, it then reads once: in TLS 1.3 the session ticket arrives
// after the handshake and is processed by the client's next Read (the
// HTTP/2 server's SETTINGS frame gives that Read something to return).
// It returns the client's local address, by which the server's OnHello
// record is found, and the handshake's error; err is for failures before
// any hello was sent.
func parrotHandshake(ctx context.Context, srv *captureServer, id utls.ClientHelloID, cfg *utls.Config, readTicket bool) (local string, handshakeErr, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(srv.Port()))
	if err != nil {
		return "", nil, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	uc := utls.UClient(conn, cfg, id)
	if handshakeErr = uc.HandshakeContext(ctx); handshakeErr == nil && readTicket {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = uc.Read(make([]byte, 512))
	}
	return conn.LocalAddr().String(), handshakeErr, nil
}
