package fingerprints

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// WatchSignatures loads the operator's signature files into c, then
// reloads them whenever
// one of them changes (modification time or size), checking every
// interval (0 means 5 s), until ctx is done. A reload that fails keeps the
// database in use and logs the error with the file and line, so a typo in
// a signature file never takes detection down. logger may be nil.
//
// Polling rather than inotify keeps it portable and works for files on
// network mounts and for editors that replace files by renaming.
func WatchSignatures(ctx context.Context, c *Classifier, files []string, interval time.Duration, logger *slog.Logger) {
	if len(files) == 0 {
		return
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Load once at the start, so that the classifier reflects the files
	// as they are when watching begins, whatever happened before.
	last := statAll(files)
	reload(c, files, logger)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failed load is retried on the next change only.
		if now := statAll(files); now != last {
			last = now
			reload(c, files, logger)
		}
	}
}

func reload(c *Classifier, files []string, logger *slog.Logger) {
	db, err := LoadDatabase(files...)
	if err != nil {
		logger.Error("signature reload failed; keeping the previous database", "err", err)
		return
	}
	c.SetDatabase(db)
	logger.Info("signatures loaded", "files", len(files), "products", len(db.Products()), "stacks", len(db.Stacks()))
}

// statAll folds the modification time and size of every file into one
// comparable value; a missing file contributes zeros, so its appearance is
// a change too.
func statAll(files []string) [2]int64 {
	var sum [2]int64
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			continue
		}
		// Weight by position so that two files swapping stats still
		// register as a change.
		sum[0] += int64(i+1) * fi.ModTime().UnixNano()
		sum[1] += int64(i+1) * fi.Size()
	}
	return sum
}
