# Shared by scripts/bench-edge and scripts/bench-edge-instructions; sourced,
# not run. Before sourcing, set bench_name (for messages). It sets up:
#   $work   a temporary directory, removed on exit
#   pids    processes to end on exit (append with pids+=($!))
#   free_port, wait_port PORT [SECONDS]
#   $work/mitmwatch and $work/upstream-bin, built from this checkout and
#   from the upstream below

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a free loopback TCP port.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port waits (at most $2 seconds, default 10) until something listens
# on port $1.
wait_port() {
	for _ in $(seq $((${2:-10} * 10))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "$bench_name: nothing listens on port $1" >&2
	exit 1
}

echo "building mitmwatch and the upstream…" >&2
go build -o "$work/mitmwatch" ./cmd/mitmwatch
mkdir "$work/upstream"
cat >"$work/upstream/main.go" <<'GO'
// The benchmark's upstream: the cheapest useful answer.
package main

import (
	"net/http"
	"os"
)

func main() {
	body := []byte("ok\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	if err := http.ListenAndServe(os.Args[1], h); err != nil {
		panic(err)
	}
}
GO
(cd "$work/upstream" && go mod init benchupstream >/dev/null 2>&1 && go build -o "$work/upstream-bin" .)
