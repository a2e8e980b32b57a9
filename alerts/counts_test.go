package alerts

import "testing"

func TestCountsShareAndAdd(t *testing.T) {
	tests := []struct {
		name  string
		c     Counts
		share float64
	}{
		{name: "no_browser_connections_is_zero_not_nan", c: Counts{Connections: 5}, share: 0},
		{name: "share_of_browser_connections_only", c: Counts{Connections: 10, Browser: 4, Intercepted: 1}, share: 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.InterceptedShare(); got != tc.share {
				t.Fatalf("share = %v, want %v", got, tc.share)
			}
		})
	}
	a := Counts{1, 2, 3, 4, 5, 6}
	a.Add(Counts{1, 1, 1, 1, 1, 1})
	if a != (Counts{2, 3, 4, 5, 6, 7}) || a.IsZero() || !(Counts{}).IsZero() {
		t.Fatalf("Add = %+v", a)
	}
}

func TestInterceptedShareLeavesBotsOut(t *testing.T) {
	// 10 browser claims: 2 intercepted, 6 clean, 2 bots. A bot flood must
	// not dilute the share of the people behind the other 8.
	c := Counts{Connections: 12, Browser: 10, Clean: 6, Intercepted: 2, Spoofed: 2}
	if got := c.People(); got != 8 {
		t.Errorf("People = %d, want 8", got)
	}
	if got := c.InterceptedShare(); got != 0.25 {
		t.Errorf("share = %v, want 0.25", got)
	}
	if got := (Counts{Browser: 3, Spoofed: 3}).InterceptedShare(); got != 0 {
		t.Errorf("only bots: share %v, want 0", got)
	}
}
