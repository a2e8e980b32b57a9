package redistest

import (
	"fmt"
	"time"
)

// SentinelMaster is the master name a [Sentinel] monitors, the MasterName
// of a redis.FailoverOptions.
const SentinelMaster = "mymaster"

// Sentinel is a master and one Redis Sentinel process monitoring it: what
// redis.NewFailoverClient needs to find the master.
type Sentinel struct {
	Master   *Server
	Sentinel *Server
}

// StartSentinel starts a master and a Sentinel (redis-server --sentinel,
// quorum 1) and waits until the Sentinel reports the master's address.
func StartSentinel(opts Options) (*Sentinel, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	m, err := Start(opts)
	if err != nil {
		return nil, err
	}
	sopts := Options{StartTimeout: opts.StartTimeout, sentinelOf: m}
	s, err := Start(sopts)
	if err != nil {
		_ = m.Stop()
		return nil, err
	}
	sn := &Sentinel{Master: m, Sentinel: s}
	deadline := time.Now().Add(opts.StartTimeout)
	want := "127.0.0.1 " + fmt.Sprint(m.Port)
	for {
		got, err := Do(s.Addr, "SENTINEL", "get-master-addr-by-name", SentinelMaster)
		if err == nil && got == want {
			return sn, nil
		}
		if time.Now().After(deadline) {
			_ = sn.Stop()
			return nil, fmt.Errorf("redistest: sentinel reports master %q (err %v), want %q", got, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills both processes by PID and removes their directories.
func (s *Sentinel) Stop() error {
	err := s.Sentinel.Stop()
	if err2 := s.Master.Stop(); err == nil {
		err = err2
	}
	return err
}
