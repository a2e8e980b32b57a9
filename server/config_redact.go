package server

import (
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted is what a secret is printed as.
const Redacted = "<redacted>"

// RedactedYAML returns the configuration as YAML, every key shown, with
// secrets replaced by [Redacted]: the values of keys named token, password,
// secret or client_key (or ending in _token, _password, _secret), URL
// passwords, webhook header values (Authorization…), and the path and
// query of webhook URLs (a Slack webhook URL is itself a secret). The *_file keys are shown: a path is not a secret.
// The redaction goes by key name so that a secret added later is hidden
// by its name alone. The output is a valid configuration file when no
// secret is set.
func (c *Config) RedactedYAML() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return nil, err
	}
	redactNode(&n, "")
	return marshalYAML(&n)
}

func redactNode(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			redactNode(c, path)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			redactNode(c, path+"[]")
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			name, val := n.Content[i].Value, n.Content[i+1]
			p := joinKey(path, name)
			switch {
			case isSecretKey(name):
				redactScalars(val, func(string) string { return Redacted })
			case p == "alerts.webhooks[].url":
				redactScalars(val, func(s string) string { return redactURL(s, true) })
			case p == "alerts.webhooks[].headers":
				// Authorization and friends: every value is a secret.
				redactScalars(val, func(string) string { return Redacted })
			case strings.HasSuffix(name, "url") || strings.HasPrefix(name, "upstream"):
				redactScalars(val, func(s string) string { return redactURL(s, false) })
			default:
				redactNode(val, p)
			}
		}
	}
}

// redactScalars replaces every non-empty scalar under n with f of it.
func redactScalars(n *yaml.Node, f func(string) string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "" && n.ShortTag() != "!!null" {
			n.Value, n.Tag, n.Style = f(n.Value), "!!str", 0
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			redactScalars(c, f)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 { // values, not keys
			redactScalars(n.Content[i], f)
		}
	}
}

// isSecretKey reports whether a key's value is a secret, by its name.
func isSecretKey(name string) bool {
	switch name {
	case "token", "password", "secret", "client_key":
		return true
	}
	return strings.HasSuffix(name, "_token") || strings.HasSuffix(name, "_password") || strings.HasSuffix(name, "_secret")
}

// redactURL hides a URL's password and, with all, everything after its
// host. A URL that does not parse is hidden whole with all, kept
// otherwise (it then has no recognisable password).
func redactURL(raw string, all bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		if all {
			return Redacted
		}
		return raw
	}
	if all {
		s := u.Scheme + "://" + u.Host
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			s += "/" + Redacted
		}
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), "redacted")
	return u.String()
}
