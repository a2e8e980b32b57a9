package server

import (
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvOverride is one environment variable that overrides one configuration
// key. Precedence: defaults < file < environment < flags.
type EnvOverride struct {
	// Name is the variable, MITMWATCH_….
	Name string
	// Key is the configuration key it sets, as in "store.redis.addrs".
	Key string
	// Clears is the key emptied when this variable is set, so that a
	// secret from the environment replaces one from a file rather than
	// conflicting with it ("admin.token_file" for MITMWATCH_ADMIN_TOKEN).
	Clears string
}

// Syntax says how the variable's value is written, from the key's type.
func (o EnvOverride) Syntax() string {
	t, ok := keyType(o.Key)
	if !ok {
		return "text"
	}
	switch {
	case t == durationType:
		return "duration, such as 30s"
	case t == reflect.TypeFor[[]netip.Prefix]():
		return "comma-separated CIDRs"
	case t.Kind() == reflect.Slice:
		return "comma-separated list"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "whole number"
	case t.Kind() == reflect.Float64:
		return "number"
	}
	return "text"
}

// EnvOverrides returns every environment override, in documentation order.
// It is the single list that the code applies, `mitmwatch config -h`
// prints and examples/mitmwatch.yaml names (a test checks it). Setting a
// key of an optional section (MITMWATCH_REDIS_ADDRS) creates the section.
// An empty variable counts as unset. Lists such as webhooks have no
// override: their secrets come from *_file keys.
func EnvOverrides() []EnvOverride {
	return []EnvOverride{
		{Name: "MITMWATCH_LISTEN", Key: "listen"},
		{Name: "MITMWATCH_HTTP_LISTEN", Key: "http_listen"},
		{Name: "MITMWATCH_HTTPS_PORT", Key: "https_port"},
		{Name: "MITMWATCH_UPSTREAM", Key: "upstream", Clears: "upstreams"},
		{Name: "MITMWATCH_UPSTREAMS", Key: "upstreams", Clears: "upstream"},
		{Name: "MITMWATCH_TLS_CERT_FILE", Key: "tls.cert_file"},
		{Name: "MITMWATCH_TLS_KEY_FILE", Key: "tls.key_file"},
		{Name: "MITMWATCH_TLS_MIN_VERSION", Key: "tls.min_version"},
		{Name: "MITMWATCH_ACME_DOMAINS", Key: "tls.acme.domains"},
		{Name: "MITMWATCH_ACME_EMAIL", Key: "tls.acme.email"},
		{Name: "MITMWATCH_ACME_CACHE_DIR", Key: "tls.acme.cache_dir"},
		{Name: "MITMWATCH_ACME_DIRECTORY_URL", Key: "tls.acme.directory_url"},
		{Name: "MITMWATCH_PROXY_PROTOCOL", Key: "proxy_protocol.enabled"},
		{Name: "MITMWATCH_PROXY_PROTOCOL_TRUSTED", Key: "proxy_protocol.trusted"},
		{Name: "MITMWATCH_TRUSTED_PROXIES", Key: "trusted_proxies"},
		{Name: "MITMWATCH_ADMIN_LISTEN", Key: "admin.listen"},
		{Name: "MITMWATCH_ADMIN_TOKEN", Key: "admin.token", Clears: "admin.token_file"},
		{Name: "MITMWATCH_ADMIN_TOKEN_FILE", Key: "admin.token_file", Clears: "admin.token"},
		{Name: "MITMWATCH_ADMIN_PPROF", Key: "admin.pprof"},
		{Name: "MITMWATCH_GEO_COUNTRY_DB", Key: "geo.country_db"},
		{Name: "MITMWATCH_GEO_ASN_DB", Key: "geo.asn_db"},
		{Name: "MITMWATCH_REDIS_ADDRS", Key: "store.redis.addrs"},
		{Name: "MITMWATCH_REDIS_USERNAME", Key: "store.redis.username"},
		{Name: "MITMWATCH_REDIS_PASSWORD", Key: "store.redis.password", Clears: "store.redis.password_file"},
		{Name: "MITMWATCH_REDIS_PASSWORD_FILE", Key: "store.redis.password_file", Clears: "store.redis.password"},
		{Name: "MITMWATCH_REDIS_DB", Key: "store.redis.db"},
		{Name: "MITMWATCH_REDIS_MASTER_NAME", Key: "store.redis.master_name"},
		{Name: "MITMWATCH_REDIS_TLS", Key: "store.redis.tls"},
		{Name: "MITMWATCH_REDIS_KEY_PREFIX", Key: "store.redis.key_prefix"},
		{Name: "MITMWATCH_CLIENT_KEY", Key: "store.client_key", Clears: "store.client_key_file"},
		{Name: "MITMWATCH_CLIENT_KEY_FILE", Key: "store.client_key_file", Clears: "store.client_key"},
		{Name: "MITMWATCH_SIGNATURES", Key: "detection.signature_files"},
		{Name: "MITMWATCH_UPSTREAM_HEADERS", Key: "detection.upstream_headers"},
		{Name: "MITMWATCH_LOG_LEVEL", Key: "logging.level"},
		{Name: "MITMWATCH_LOG_FORMAT", Key: "logging.format"},
		{Name: "MITMWATCH_LOG_CLIENT_IP", Key: "logging.log_client_ip"},
		{Name: "MITMWATCH_SHUTDOWN_TIMEOUT", Key: "shutdown.timeout"},
		{Name: "MITMWATCH_GC_HEAP_FLOOR_MIB", Key: "runtime.gc_heap_floor_mib"},
	}
}

// applyEnv applies the overrides set in env to c and records them in
// c.src.env.
func (c *Config) applyEnv(env func(string) (string, bool)) []*ConfigError {
	var errs []*ConfigError
	root := reflect.ValueOf(c).Elem()
	setBy := map[string]string{} // key → variable, in this pass
	for _, o := range EnvOverrides() {
		raw, ok := env(o.Name)
		if !ok || raw == "" {
			continue
		}
		if other, ok := setBy[o.Clears]; ok && o.Clears != "" {
			errs = append(errs, &ConfigError{Env: o.Name, Key: o.Key, Err: fmt.Errorf("exclusive with %s: set one", other)})
			continue
		}
		setBy[o.Key] = o.Name
		created, err := setKey(root, o.Key, raw)
		if err != nil {
			errs = append(errs, &ConfigError{Env: o.Name, Key: o.Key, Err: err})
			if len(created) > 0 {
				// Remove the section the bad value created, or it would be
				// reported again as incomplete.
				setKey(root, created[0], "")
			}
			continue
		}
		c.src.env[o.Key] = o.Name
		for _, k := range created {
			if _, ok := c.src.env[k]; !ok {
				c.src.env[k] = o.Name
			}
		}
		if o.Clears != "" {
			if _, err := setKey(root, o.Clears, ""); err == nil {
				c.src.env[o.Clears] = o.Name
			}
		}
	}
	return errs
}

// setKey parses raw into the key at path under root, creating optional
// sections on the way (their paths are returned). An empty raw empties the
// key.
func setKey(root reflect.Value, path, raw string) (created []string, err error) {
	v := root
	parts := strings.Split(path, ".")
	for i, name := range parts {
		idx, ok := yamlFields(v.Type())[name]
		if !ok {
			return created, fmt.Errorf("server: no config key %s", path)
		}
		v = v.FieldByIndex(idx)
		if i == len(parts)-1 {
			break
		}
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if raw == "" {
					return created, nil // emptying a key of an absent section
				}
				v.Set(reflect.New(v.Type().Elem()))
				created = append(created, strings.Join(parts[:i+1], "."))
			}
			v = v.Elem()
		}
	}
	if raw == "" {
		v.SetZero()
		return created, nil
	}
	return created, parseEnvValue(v, raw)
}

// parseEnvValue parses one variable's text into v.
func parseEnvValue(v reflect.Value, raw string) error {
	raw = strings.TrimSpace(raw)
	switch t := v.Type(); {
	case t == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s", truncate(raw))
		}
		v.SetInt(int64(d))
	case t.Kind() == reflect.Slice:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		out := reflect.MakeSlice(t, len(items), len(items))
		for i, s := range items {
			if err := parseEnvValue(out.Index(i), s); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
		v.Set(out)
	case t == prefixType:
		p, err := parseCIDR(raw)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(p))
	case t.Kind() == reflect.String:
		v.SetString(raw)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return wrongTypef("want true or false, got %q", truncate(raw))
		}
		v.SetBool(b)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := strconv.ParseInt(raw, 10, t.Bits())
		if err != nil {
			return wrongTypef("want a whole number, got %q", truncate(raw))
		}
		v.SetInt(i)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		i, err := strconv.ParseUint(raw, 10, t.Bits())
		if err != nil {
			return wrongTypef("want a whole number, got %q", truncate(raw))
		}
		v.SetUint(i)
	case t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return wrongTypef("want a number, got %q", truncate(raw))
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("server: config key of type %s has no environment syntax", t)
	}
	return nil
}

// keyType returns the Go type of the key at path.
func keyType(path string) (reflect.Type, bool) {
	t := reflect.TypeFor[Config]()
	for _, name := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		idx, ok := yamlFields(t)[name]
		if !ok {
			return nil, false
		}
		t = t.FieldByIndex(idx).Type
	}
	return t, true
}

// envNameOf is the variable a key would have if every key had one:
// MITMWATCH_ and the path in capitals, dots as underscores.
func envNameOf(key string) string {
	return "MITMWATCH_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// unknownEnvWarnings warns about variables that look like overrides and are
// not: the name every key would have (MITMWATCH_LOGGING_LEVEL,
// MITMWATCH_ALERTS_EVALUATE_EVERY) and each override's name with an S
// added or removed (MITMWATCH_REDIS_ADDR). env can only be asked about
// names, so these likely mistakes are what it is asked about; other
// MITMWATCH_ variables belong to the command line (MITMWATCH_CERT_DIR…).
func unknownEnvWarnings(env func(string) (string, bool)) []string {
	overrides := EnvOverrides()
	byName := map[string]EnvOverride{}
	byKey := map[string]EnvOverride{}
	for _, o := range overrides {
		byName[o.Name] = o
		byKey[o.Key] = o
	}
	suspects := map[string]string{} // variable → warning
	for _, key := range configKeyPaths(reflect.TypeFor[Config]()) {
		if strings.Contains(key, "[]") {
			continue
		}
		name := envNameOf(key)
		if _, ok := byName[name]; ok {
			continue
		}
		if o, ok := byKey[key]; ok {
			suspects[name] = fmt.Sprintf("%s is not an override (did you mean %s, for %s?): ignored", name, o.Name, key)
		} else {
			suspects[name] = fmt.Sprintf("%s is not an override: %s has none, set it in the config file; ignored", name, key)
		}
	}
	for _, o := range overrides {
		alt := o.Name + "S"
		if s, ok := strings.CutSuffix(o.Name, "S"); ok {
			alt = s
		}
		if _, ok := byName[alt]; ok {
			continue
		}
		suspects[alt] = fmt.Sprintf("%s is not an override (did you mean %s, for %s?): ignored", alt, o.Name, o.Key)
	}
	names := make([]string, 0, len(suspects))
	for n := range suspects {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		if v, ok := env(n); ok && v != "" {
			out = append(out, suspects[n])
		}
	}
	return out
}
