package redistest

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Cluster is a Redis Cluster of masters without replicas, created by
// redis-cli --cluster create.
type Cluster struct {
	// Servers are the master nodes, one per process.
	Servers []*Server
}

// StartCluster starts masters redis-server processes with
// --cluster-enabled yes, joins them with
// `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`
// and waits until every node reports cluster_state:ok. Redis needs at least
// three masters for a cluster.
func StartCluster(masters int, opts Options) (*Cluster, error) {
	if masters < 3 {
		return nil, fmt.Errorf("redistest: a cluster needs at least 3 masters, got %d", masters)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	opts.cluster = true
	c := &Cluster{}
	for range masters {
		s, err := Start(opts)
		if err != nil {
			_ = c.Stop()
			return nil, err
		}
		c.Servers = append(c.Servers, s)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %w: %s", err, out)
	}
	if err := c.waitOK(30 * time.Second); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// Addrs returns the masters' addresses, the seed list for a
// redis.ClusterClient.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		addrs[i] = s.Addr
	}
	return addrs
}

func (c *Cluster) waitOK(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		var last string
		for _, s := range c.Servers {
			info, err := Do(s.Addr, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok, last = false, info
				if err != nil {
					last = err.Error()
				}
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: cluster not ok within %s: %s", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills every node by its PID and removes their directories.
func (c *Cluster) Stop() error {
	var errs []error
	for _, s := range c.Servers {
		errs = append(errs, s.Stop())
	}
	return errors.Join(errs...)
}
