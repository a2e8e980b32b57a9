package alerts

// Counts are the connection counters kept per network and minute. Verdict
// counters count browser connections only: a verdict says whether a hello
// matches the browser the client claims to be, so only those connections
// make up the shares that alerts and the dashboard show.
type Counts struct {
	// Connections is every recorded connection, browser or not.
	Connections uint64 `json:"connections"`
	// Browser is the connections whose client claimed to be a browser.
	Browser uint64 `json:"browser"`
	// Clean, Intercepted, Spoofed and Unknown split Browser by verdict.
	Clean       uint64 `json:"clean"`
	Intercepted uint64 `json:"intercepted"`
	Spoofed     uint64 `json:"spoofed"`
	Unknown     uint64 `json:"unknown"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Connections += o.Connections
	c.Browser += o.Browser
	c.Clean += o.Clean
	c.Intercepted += o.Intercepted
	c.Spoofed += o.Spoofed
	c.Unknown += o.Unknown
}

// IsZero reports whether every counter is zero.
func (c Counts) IsZero() bool { return c == Counts{} }

// People is the browser connections that a person's browser may be
// behind: every browser claim but the spoofed ones, which are bots wearing
// a browser's User-Agent. Shares and rule volumes are taken over People,
// so that a flood of bots in a network cannot dilute, and so hide, the
// interception of its real users.
func (c Counts) People() uint64 { return c.Browser - min(c.Spoofed, c.Browser) }

// InterceptedShare is Intercepted / People, or 0 without such
// connections.
func (c Counts) InterceptedShare() float64 {
	p := c.People()
	if p == 0 {
		return 0
	}
	return float64(c.Intercepted) / float64(p)
}

// add counts one observation.
func (c *Counts) add(browser bool, v Verdict) {
	c.Connections++
	if !browser {
		return
	}
	c.Browser++
	switch v {
	case VerdictClean:
		c.Clean++
	case VerdictIntercepted:
		c.Intercepted++
	case VerdictSpoofed:
		c.Spoofed++
	default:
		c.Unknown++
	}
}
