package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteCapture(t *testing.T) {
	raw := []byte{0x16, 0x03, 0x01, 0x00, 0x01, 0xAB}
	tests := []struct {
		name        string
		meta        metadata
		raw         []byte
		wantErr     bool
		wantRequest bool
	}{
		{"parrot_without_request_omits_the_request_key",
			metadata{Name: "utls-chrome-133", UserAgentSource: uaAssigned}, raw, false, false},
		{"request_is_written_with_its_headers",
			metadata{Name: "curl-openssl", Request: &requestInfo{Proto: "HTTP/2.0", Method: "GET",
				Headers: map[string][]string{"User-Agent": {"curl/7.88.1"}}}}, raw, false, true},
		{"name_that_is_not_a_safe_file_stem_is_rejected",
			metadata{Name: "../escape"}, raw, true, false},
		{"empty_hello_is_rejected",
			metadata{Name: "empty"}, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := writeCapture(dir, &tt.meta, tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("files written despite the error: %v", ents)
				}
				return
			}
			hx, err := os.ReadFile(filepath.Join(dir, tt.meta.Name+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			if string(hx) != "1603010001ab\n" {
				t.Errorf(".hex = %q, want lowercase hex on one line", hx)
			}
			js, err := os.ReadFile(filepath.Join(dir, tt.meta.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			if back["name"] != tt.meta.Name {
				t.Errorf("name = %v", back["name"])
			}
			if _, ok := back["request"]; ok != tt.wantRequest {
				t.Errorf("request key present = %v, want %v", ok, tt.wantRequest)
			}
			if !bytes.HasSuffix(js, []byte("}\n")) {
				t.Error(".json does not end with a newline")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 2 {
				t.Errorf("want exactly 2 files, got %v (temporary files left?)", ents)
			}
		})
	}
}

func TestMetadataJSONKeys(t *testing.T) {
	js, err := json.Marshal(metadata{Name: "x", Request: &requestInfo{}})
	if err != nil {
		t.Fatal(err)
	}
	// The keys the corpus readers depend on (README.md).
	for _, k := range []string{"name", "client", "family", "product", "version", "user_agent",
		"user_agent_source", "via", "captured_with", "tool_versions", "date", "request", "proto", "method", "headers"} {
		if !strings.Contains(string(js), `"`+k+`":`) {
			t.Errorf("key %q missing from %s", k, js)
		}
	}
}
