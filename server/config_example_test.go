package server_test

import (
	"errors"
	"fmt"

	"github.com/mitmwatch/mitmwatch/server"
)

// A configuration with two mistakes: both are reported at once, each with
// its line and key; an environment override wins over the file.
func ExampleParseConfig() {
	file := []byte(`listen: 127.0.0.1:8443
alerts:
  rules:
    - {name: asn-share, scope: asn, window: 5m, min_connections: 50, min_share: 20}
logging:
  levle: debug
`)
	env := map[string]string{"MITMWATCH_LISTEN": "127.0.0.1:9443"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cfg, err := server.ParseConfig("mitmwatch.yaml", file, lookup)
	fmt.Println(err)
	var first *server.ConfigError
	if errors.As(err, &first) {
		fmt.Println(first.Line, first.Key)
	}
	fmt.Println(errors.Is(err, server.ErrUnknownKey), cfg.Listen)
	// Output:
	// mitmwatch.yaml:4: alerts.rules[0].min_share: must be in (0,1] (got 20)
	// mitmwatch.yaml:6: logging.levle: unknown key (did you mean logging.level?)
	// 4 alerts.rules[0].min_share
	// true 127.0.0.1:9443
}

// The empty configuration: the defaults, valid, serving this machine only.
func ExampleDefaultConfig() {
	cfg := server.DefaultConfig()
	fmt.Println(cfg.Listen, cfg.Admin.Listen, cfg.Store.Redis == nil, cfg.Validate())
	// Output:
	// 127.0.0.1:8443 127.0.0.1:9090 true <nil>
}

// The environment overrides come from one table, which `mitmwatch config
// -h` prints.
func ExampleEnvOverrides() {
	for _, o := range server.EnvOverrides()[:4] {
		fmt.Printf("%s → %s (%s)\n", o.Name, o.Key, o.Syntax())
	}
	// Output:
	// MITMWATCH_LISTEN → listen (text)
	// MITMWATCH_HTTP_LISTEN → http_listen (text)
	// MITMWATCH_HTTPS_PORT → https_port (whole number)
	// MITMWATCH_UPSTREAM → upstream (text)
}
