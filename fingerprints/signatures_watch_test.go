package fingerprints

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchSignaturesReloadsChangedFileAndKeepsOldOnError(t *testing.T) {
	c := newTestClassifier(t)
	path := filepath.Join(t.TempDir(), "ops.yaml")
	entry := func(name string) string {
		return "products:\n  - id: ops\n    name: " + name + "\n    kind: corporate_proxy\n    ja3: [0123456789abcdef0123456789abcdef]\n    source: test\n"
	}
	if err := os.WriteFile(path, []byte(entry("First")), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := LoadDatabase(path)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDatabase(db)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { WatchSignatures(ctx, c, []string{path}, 10*time.Millisecond, nil); close(done) }()
	defer func() { cancel(); <-done }()

	name := func() string {
		p := c.Database().MatchProduct(&Fingerprints{JA3Hash: "0123456789abcdef0123456789abcdef"})
		if p == nil {
			return ""
		}
		return p.Name
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for name() != want {
			if time.Now().After(deadline) {
				t.Fatalf("product name %q, want %q", name(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// A later modification time makes the change visible even on file
	// systems with coarse timestamps.
	touch := func(content string, at time.Time) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	touch(entry("Second"), time.Now().Add(time.Hour))
	waitFor("Second")
	touch("products: [\n", time.Now().Add(2*time.Hour)) // broken YAML
	time.Sleep(100 * time.Millisecond)                  // several polls
	if name() != "Second" {
		t.Fatalf("a broken file replaced the database: %q", name())
	}
	touch(entry("Third"), time.Now().Add(3*time.Hour))
	waitFor("Third")
}
