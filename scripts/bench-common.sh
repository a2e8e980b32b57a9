# Shared by scripts/bench-edge and scripts/bench-edge-instructions; sourced,
# not run. Before sourcing, set bench_name (for messages). It sets up:
#   $work   a temporary directory, removed on exit
#   pids    processes to end on exit (append with pids+=($!))
#   free_port, wait_port PORT [SECONDS]
#   $work/mitmwatch and $work/upstream-bin, built from this checkout and
#   from the upstream below
#   edge_config SIDE PORT UP_PORT  writes $work/SIDE.yaml, the edge's config
#   request_headers  -H arguments for curl and wrk: none by default (wrk
#                    then sends only Host; curl adds User-Agent and
#                    Accept), or with BENCH_REQUEST=page the headers of a
#                    browser's page request less its identity

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

# edge_config SIDE PORT UP_PORT writes $work/SIDE.yaml: an edge on loopback
# port PORT in front of the upstream on UP_PORT, the in-memory store, no
# admin listener, log level warn; with BENCH_UPSTREAM_HEADERS set (even
# empty), its detection.upstream_headers.
edge_config() {
	cat >"$work/$1.yaml" <<YAML
listen: 127.0.0.1:$2
upstream: http://127.0.0.1:$3
admin:
  listen: ""
logging:
  level: warn
YAML
	if [[ -n ${BENCH_UPSTREAM_HEADERS+set} ]]; then
		printf 'detection:\n  upstream_headers: [%s]\n' "$BENCH_UPSTREAM_HEADERS" >>"$work/$1.yaml"
	fi
}

request_headers=()
case ${BENCH_REQUEST:-bare} in
bare) ;;
page)
	# The headers of a browser's page request, less those that name a
	# browser (User-Agent, Sec-CH-UA*, Sec-Fetch-*): with curl's or wrk's
	# OpenSSL ClientHello, a browser's identity would be judged
	# intercepted, and these benchmarks measure clean traffic. Typical
	# values, not copied from one capture. With X-Forwarded-* the upstream
	# request carries 10 headers before the annotation (curl adds its
	# User-Agent: 11).
	request_headers=(
		-H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
		-H 'Accept-Encoding: gzip, deflate, br, zstd'
		-H 'Accept-Language: en-US,en;q=0.9,de;q=0.8'
		-H 'Cache-Control: max-age=0'
		-H 'Cookie: session=3f9a1c7e5b2d4a6c8e0f1a3b5c7d9e1f; theme=dark; consent=necessary%2Canalytics'
		-H 'Referer: https://www.example.org/'
		-H 'Upgrade-Insecure-Requests: 1'
	)
	;;
*)
	echo "$bench_name: BENCH_REQUEST=$BENCH_REQUEST: want bare or page" >&2
	exit 2
	;;
esac

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
