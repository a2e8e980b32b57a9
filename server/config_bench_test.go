package server

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkParseConfig loads the documented example, every key set: what
// `mitmwatch serve` and `config check` pay once at start.
func BenchmarkParseConfig(b *testing.B) {
	data, err := os.ReadFile("../examples/mitmwatch.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseConfig("mitmwatch.yaml", data, noEnv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseConfigAliasBomb is the attacker-sized input: merges of
// merges that would expand to 10^8 mappings, stopped at maxConfigNodes.
func BenchmarkParseConfigAliasBomb(b *testing.B) {
	var s strings.Builder
	s.WriteString("a0: &a0 {listen: 127.0.0.1:8443}\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&s, "a%d: &a%d {<<: [%s]}\n", i, i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9)+fmt.Sprintf("*a%d", i-1))
	}
	s.WriteString("<<: *a8\n")
	data := []byte(s.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseConfig("bomb.yaml", data, nil); err == nil {
			b.Fatal("no error")
		}
	}
}

// BenchmarkParseConfigSyntaxError measures the search for the line of a
// syntax error at the end of a 2000-line file (log2(lines) parses).
func BenchmarkParseConfigSyntaxError(b *testing.B) {
	var s strings.Builder
	s.WriteString("detection:\n  protect_paths:\n")
	for i := range 2000 {
		fmt.Fprintf(&s, "    - /p%d\n", i)
	}
	s.WriteString("  bad: [\n")
	data := []byte(s.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseConfig("big.yaml", data, nil); err == nil {
			b.Fatal("no error")
		}
	}
}

// BenchmarkRedactedYAML renders the effective configuration of the
// example, secrets redacted (config check's output).
func BenchmarkRedactedYAML(b *testing.B) {
	c, err := LoadConfig("../examples/mitmwatch.yaml", noEnv)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.RedactedYAML(); err != nil {
			b.Fatal(err)
		}
	}
}
