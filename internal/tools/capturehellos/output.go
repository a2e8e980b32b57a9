package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// Values of metadata.Family.
const (
	familyChromium = "chromium"
	familyFirefox  = "firefox"
	familySafari   = "safari"
	familyOther    = "other"
)

// Values of metadata.Via.
const (
	viaDirect    = "direct"
	viaMitmproxy = "mitmproxy"
)

// Values of metadata.UserAgentSource.
const (
	// uaAssigned: the client made no HTTP request (a utls parrot); the UA
	// is the one the parroted browser version sends, chosen by hand.
	uaAssigned = "assigned"
	// uaRequest: copied from the User-Agent header of the captured request.
	uaRequest = "request"
)

// metadata is the <name>.json file next to each <name>.hex. The format is
// described in testdata/clienthello/README.md; keep the two in step.
type metadata struct {
	// Name is the file stem, e.g. "utls-chrome-133".
	Name string `json:"name"`
	// Client is the program that opened the connection to the capture
	// server: "utls", "go-net-http", "curl", "python-urllib", "chromium",
	// "firefox-esr" or "mitmproxy".
	Client string `json:"client"`
	// Family is the TLS stack family the User-Agent claims: chromium,
	// firefox, safari or other. For via=mitmproxy it is the browser's
	// family, while the hello itself is mitmproxy's (OpenSSL).
	Family string `json:"family"`
	// Product and Version name what the hello (or, via mitmproxy, the
	// User-Agent) stands for, e.g. "Chrome" "133".
	Product string `json:"product"`
	Version string `json:"version"`
	// UserAgent is the User-Agent header; UserAgentSource says where it
	// came from (uaAssigned or uaRequest).
	UserAgent       string `json:"user_agent"`
	UserAgentSource string `json:"user_agent_source"`
	// Via is viaDirect or viaMitmproxy.
	Via string `json:"via"`
	// CapturedWith says how the hello was produced, in a sentence.
	CapturedWith string `json:"captured_with"`
	// ToolVersions holds the version strings of the programs involved
	// (go, utls, chromium --version, mitmdump --version, ...).
	ToolVersions map[string]string `json:"tool_versions"`
	// Date is the capture date, YYYY-MM-DD (UTC).
	Date string `json:"date"`
	// HandshakeError is set when the TLS handshake did not complete (old
	// utls parrots offering only what Go's server refuses); the hello was
	// still captured.
	HandshakeError string `json:"handshake_error,omitempty"`
	// Request is the HTTP request that followed the hello; absent when no
	// request completed.
	Request *requestInfo `json:"request,omitempty"`
}

// validName is what a capture name may look like: it becomes a file name
// and a URL path segment.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// writeCapture writes dir/<name>.hex (lowercase hex of raw, one line) and
// dir/<name>.json. Each file is written to a temporary name and renamed, so
// an interrupted run leaves the previous capture intact.
func writeCapture(dir string, m *metadata, raw []byte) error {
	if !validName.MatchString(m.Name) {
		return fmt.Errorf("capturehellos: invalid capture name %q", m.Name)
	}
	if len(raw) == 0 {
		return fmt.Errorf("capturehellos: %s: empty ClientHello", m.Name)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("capturehellos: %s: metadata: %w", m.Name, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, m.Name+".hex"), []byte(hex.EncodeToString(raw)+"\n")); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, m.Name+".json"), append(js, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("capturehellos: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("capturehellos: %w", err)
	}
	return nil
}
