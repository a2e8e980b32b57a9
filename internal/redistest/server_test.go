package redistest

import (
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	Require(t)
	tests := []struct {
		name       string
		persistent bool
		// keepsData says whether a key written before SIGKILL is there
		// after Restart.
		keepsData bool
	}{
		{name: "throwaway_server_loses_data_on_kill", persistent: false, keepsData: false},
		{name: "persistent_server_keeps_acknowledged_writes_across_kill", persistent: true, keepsData: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(Options{Persistent: tc.persistent})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Stop() })
			pid := s.PID()
			if pid == 0 {
				t.Fatal("PID() = 0 for a running server")
			}
			if _, err := Do(s.Addr, "SET", "k", "v"); err != nil {
				t.Fatal(err)
			}
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
			if s.PID() != 0 {
				t.Fatal("PID() != 0 after Kill")
			}
			if _, err := Do(s.Addr, "PING"); err == nil {
				t.Fatal("server still answers after Kill")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if s.PID() == pid {
				t.Fatalf("Restart kept pid %d", pid)
			}
			got, err := Do(s.Addr, "GET", "k")
			if err != nil {
				t.Fatal(err)
			}
			if (got == "v") != tc.keepsData {
				t.Fatalf("GET k after restart = %q, want data kept = %v", got, tc.keepsData)
			}
		})
	}
}

func TestCluster(t *testing.T) {
	Require(t)
	if _, err := StartCluster(2, Options{}); err == nil {
		t.Fatal("StartCluster(2) succeeded; Redis needs 3 masters")
	}
	c, err := StartCluster(3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	for _, s := range c.Servers {
		info, err := Do(s.Addr, "CLUSTER", "INFO")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
			t.Fatalf("node %s: %s", s.Addr, info)
		}
	}
	// A key whose slot lives on another node is redirected, proving the
	// slots were spread over the masters.
	moved := 0
	for _, s := range c.Servers {
		if _, err := Do(s.Addr, "SET", "{a}x", "1"); err != nil && strings.Contains(err.Error(), "MOVED") {
			moved++
		}
	}
	if moved != 2 {
		t.Fatalf("%d of 3 masters redirected key {a}x, want 2", moved)
	}
}

func TestSentinel(t *testing.T) {
	Require(t)
	s, err := StartSentinel(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	got, err := Do(s.Sentinel.Addr, "SENTINEL", "get-master-addr-by-name", SentinelMaster)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.Master.Addr; strings.ReplaceAll(got, " ", ":") != want {
		t.Fatalf("sentinel reports %q, want %s", got, want)
	}
}
