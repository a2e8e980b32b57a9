// Package alerts aggregates verdicts across connections and edge nodes:
// the [Recorder] on the request path, the [Store]s that keep the counts
// ([MemoryStore] in process, [RedisStore] on Redis standalone, Sentinel or
// Cluster), and the queries that rules, the CLI (`mitmwatch top`) and the
// dashboard use ([Store.Top], [Store.Series], [Store.NewFingerprints]).
//
// # Recording
//
// The middleware calls [Recorder.Record] with one [Observation] per
// connection. Record never waits on I/O and, once the networks of the
// current minute have been seen, allocates nothing: it hashes the client
// address (see "Unique clients"), takes the lock of one of a few shards
// (chosen by network, 4 per CPU) and bumps counters in flat maps keyed by
// (minute, country, ASN). BenchmarkRecord measures it.
//
// Every [RecorderConfig].FlushInterval (1 s) the flusher swaps each shard's
// maps for an empty spare (the lock is held for a pointer swap), turns the
// full ones into a [Batch] and hands it to [Store.Apply]: one pipelined
// round trip to Redis at steady state. The emptied maps are cleared, not
// freed, so the next interval reuses their memory.
//
// A batch the store rejects stays pending; pending batches are retried in
// order at each flush. At most BufferLimit (900) wait: when a new batch would
// exceed it the oldest is dropped, its observations added to
// mitmwatch_alerts_dropped_total and a warning logged. [Recorder.Close]
// flushes what is left, retrying until its context ends; observations it
// cannot store are counted and logged the same way, and its error says how
// many. Nothing is lost without a count and a log line.
//
// # What is counted
//
// Counts are kept per UTC minute and per network (ISO country code and
// ASN; "ZZ" and 0 when unknown). [Counts] has every connection, the browser
// connections, and the browser connections split by verdict: only a client
// claiming to be a browser can be judged against that browser, so shares
// are of browser connections. Intercepted browser connections are also
// counted per product and per JA4; unknown ones per JA4. Observation
// strings longer than 64 bytes are cut, bounding what one observation
// costs.
//
// # Unique clients
//
// Unique clients are HyperLogLogs (Redis PFADD/PFCOUNT; an equivalent
// 2^14-register sketch in the memory store) fed with a keyed hash of the
// client address (SipHash-2-4 under a key derived from
// [RecorderConfig].ClientKey). The raw address is never stored or sent.
// Without ClientKey each process draws a random key: fine for one node,
// but nodes sharing a Redis then hash the same client differently, so
// unique counts across nodes over-count. Multi-node deployments must set
// the same ClientKey everywhere. Estimates have about 1% error; rows that
// group several networks (a country, an ASN) add their networks' estimates.
//
// # Redis data model
//
// P is [RedisConfig].Prefix ("mw"), N a network written "CC:ASN" (e.g.
// KZ:9198), M a Unix minute (Unix seconds / 60, UTC), R the batches'
// retention ([RecorderConfig].Retention, 30 days). Bucket TTLs are absolute
// (EXPIREAT end of minute M + R), so a retry or a late batch never extends
// them.
//
//	key                  type       content                                       expires
//	P:{N}:m:M            HASH       n (connections), b (browser), c i s u         end of M + R
//	                                (clean, intercepted, spoofed, unknown),
//	                                p:<product>, ji:<JA4> (intercepted),
//	                                ju:<JA4> (unknown): counters
//	P:{N}:c:M            HLL        8-byte keyed client hashes                    end of M + R
//	P:{N}:ack:<node>     STRING     last batch Seq of recorder <node> applied     AckTTL (24 h) after
//	                                to N                                          each write
//	P:{N}:tmp            HLL        scratch of a query over > 1000 minutes        deleted in the query
//	P:active:M           SET        networks "CC:ASN" with data in minute M       end of M + R
//	P:{fp}:first         ZSET       JA4 → first minute seen (ZADD LT)             newest minute + R;
//	P:{fp}:last          ZSET       JA4 → last minute seen (ZADD GT)              JA4s last seen
//	                                                                              before newest - R are
//	                                                                              trimmed
//	P:{fp}:n:<JA4>       ZSET       network "CC:ASN" → first minute seen there    last sighting + R
//	P:asorg              HASH       ASN → AS organisation name                    R after the last
//	                                                                              name written
//
// Only intercepted and unknown JA4s enter the fingerprint index. The AS
// name is written when a recorder first sees it, when it changes, and
// hourly, not per event.
//
// # Why hash tags
//
// Every key of one network carries the hash tag {CC:ASN}, so a Redis
// Cluster puts them all in one slot. One Lua script can then update a
// network's counters, HyperLogLogs and ack together (Cluster rejects
// scripts and multi-key commands across slots), and PFCOUNT can merge a
// network's minutes in one command. Networks spread over the cluster's
// slots; the per-minute active sets are untagged and spread too. The
// fingerprint index is one tag, {fp}, so its script sees all of it; it
// gets one call per flush. go-redis's ClusterClient routes each command of
// a flush's pipeline to the node owning its slot. On a plain *redis.Client
// (standalone, Sentinel) the store sends all networks in one script call,
// so a flush is about four commands whatever the traffic; on a Cluster it
// is one call per network plus about four.
//
// # Exactness
//
// A pipeline that fails midway (Redis killed, a timeout) may have applied
// part of a batch. The recorder then retries the whole batch, and the
// store makes that exact: a network's share of a batch is applied by one
// Lua script, which Redis runs without interleaving, and which first
// compares the batch's Seq with the network's ack key for that recorder
// and ends by setting it. A network already applied is skipped; one not
// yet applied is applied once. Batches of a recorder are applied in Seq
// order (the flusher stops at the first failure), so "Seq not above the
// ack" means "already applied". Everything outside the scripts is
// idempotent: SADD of active sets, ZADD LT/GT of the fingerprint index,
// HSET of names, EXPIREAT. The memory store applies a batch under one lock
// and skips a Seq it has seen.
//
// Limits: a retry more than AckTTL after a partial failure could count the
// networks it had reached twice (the recorder retries every second, so
// that takes a day-long outage with the batch still pending); a batch
// dropped on overflow after a partial failure is counted in full as
// dropped; a Redis without persistence loses what it held when it dies,
// and a Cluster failover can lose writes not yet replicated. A script that
// fails with a runtime error (WRONGTYPE: a foreign key under the prefix)
// keeps the writes it made, but as each network's writes end with its
// ack, only the failing network is unacknowledged and the retry counts it
// once. The fault test kills redis-server (SIGKILL, append-only file with
// fsync always) while 10 000 observations are recorded and checks exact
// counts after restart.
//
// # Queries
//
// [Store.Top] reads the window's per-minute active sets (one SMEMBERS per
// minute, pipelined), then sums each network's minutes with one Lua call
// per network (HGETALL of each bucket summed server-side, PFCOUNT over its
// HyperLogLogs), never SCAN. [Store.Series] does the same per step.
// [Store.NewFingerprints] reads the {fp} index. [RedisConfig].MaxWindow
// (31 days) caps a window.
//
// # Metrics
//
// With [RecorderConfig].Registerer set, the recorder exports (no labels:
// networks, ASNs and fingerprints are unbounded):
//
//	mitmwatch_alerts_recorded_total          observations handed to the store in a batch
//	mitmwatch_alerts_flushes_total           batches the store applied
//	mitmwatch_alerts_flush_errors_total      failed store calls (the batch is retried)
//	mitmwatch_alerts_dropped_total           observations dropped (overflow, Close deadline, Record after Close)
//	mitmwatch_alerts_pending_batches         batches waiting for the store
//	mitmwatch_alerts_flush_duration_seconds  time of one store call
//
// [Recorder.Stats] returns the same counters without Prometheus.
package alerts
