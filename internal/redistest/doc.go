// Package redistest starts real redis-server processes for tests: a
// standalone server on a free loopback port, a Redis Cluster of several
// masters created with redis-cli, or a master behind a Redis Sentinel.
//
// # Why real servers
//
// mitmwatch's exactness guarantees (per-batch idempotency in Lua, hash tags
// that keep a flush working on a Cluster) depend on how Redis itself behaves
// when it is killed, restarted or asked to route a key, which no mock shows.
//
// # Lifecycle
//
// Every server listens on 127.0.0.1 only, keeps no data on disk unless
// [Options.Persistent] asks for an append-only file, and is ended by its PID
// with [Server.Stop] (tests call it from TestMain, also on failure). As a
// backstop each process is started with a parent-death signal, so a test
// binary that crashes does not leave servers behind.
//
// # Missing redis-server
//
// [Check] tells TestMain whether redis-server and redis-cli are on PATH.
// Under CI=true a missing binary must fail the run; elsewhere tests skip.
// [Require] encodes that rule for individual tests.
package redistest
