package redistest

import "testing"

// Require fails tb under CI=true and skips it elsewhere when redis-server or
// redis-cli is missing: CI must never pass by skipping Redis tests.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Check(); err != nil {
		if InCI() {
			tb.Fatalf("%v (CI=true: Redis tests must run)", err)
		}
		tb.Skipf("%v", err)
	}
}
