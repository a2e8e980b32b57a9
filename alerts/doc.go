// Package alerts aggregates verdicts across connections and edge nodes:
// the [Recorder] on the request path, the [Store]s that keep the counts
// ([MemoryStore] in process, [RedisStore] on Redis standalone, Sentinel or
// Cluster), and the queries that rules, the CLI (`mitmwatch top`) and the
// dashboard use ([Store.Top], [Store.Series], [Store.NewFingerprints]); and
// on top of them the alerting: rules, incidents, the outbox and webhook
// delivery, run by the [Evaluator] on every node.
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
// counted per product and per JA4; unknown ones per JA4. For both, each
// JA4 also keeps the hello's TLS grade and the verdicts' reasons (not
// counts: the latest grade and the union of reasons). Observation
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
// Beside each network's clients, the clients of each intercepted or
// unknown browser JA4 in the network are counted the same way, one
// HyperLogLog per (network, minute, JA4), both verdicts together:
// [NetworkStats].JA4Clients, what the new_fingerprint rule judges, and
// only when [TopQuery].JA4Clients asks: on Redis it is a union per JA4 and
// network, which made a Top of 100 networks with 20 JA4s each 2.8 times
// slower (BenchmarkTopRedis), so the dashboard and the other rules go
// without. The
// recorder keeps the distinct (network, minute, JA4, client) of a flush
// interval in one more flat map, cleared and reused like the others.
// These per-JA4 HyperLogLogs are one key per fingerprint and minute (more
// keys than the network's bucket and clients HLL once a minute has two
// such fingerprints), and only new_fingerprint reads them, so both
// stores keep them for [JA4ClientRetention] (7 days) when the retention
// is longer, and a new_fingerprint window may not exceed that.
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
//	P:{N}:jc:M:<JA4>     HLL        client hashes of the browser connections      end of M +
//	                                with that intercepted or unknown JA4          min(R, 7 days)
//	P:{N}:ack:<node>     STRING     last batch Seq of recorder <node> applied     AckTTL (24 h) after
//	                                to N                                          each write
//	P:{N}:tmp            HLL        scratch of a query over > 1000 minutes        deleted in the query
//	P:active:M           SET        networks "CC:ASN" with data in minute M       end of M + R
//	P:{fp}:first         ZSET       JA4 → first minute seen (ZADD LT)             newest minute + R;
//	P:{fp}:last          ZSET       JA4 → last minute seen (ZADD GT)              JA4s last seen
//	                                                                              before newest - R are
//	                                                                              trimmed
//	P:{fp}:n:<JA4>       ZSET       network "CC:ASN" → first minute seen there    last sighting + R
//	P:{fp}:grade         HASH       JA4 → "grade:minute" (fingerprints.Grade: 1   as P:{fp}:first;
//	                                A, 2 B, 3 C, 4 F; the newest minute's wins)   fields of trimmed
//	P:{fp}:reasons       HASH       JA4 → verdict reasons, the OR of every        JA4s deleted
//	                                node's fingerprints.Reasons bits (a signed
//	                                32-bit number: bit 31 reads negative)
//	P:asorg              HASH       ASN → AS organisation name                    R after the last
//	                                                                              name written
//
// Only intercepted and unknown JA4s enter the fingerprint index. One
// fingerprintLua call per flush keeps all of it: for each JA4 of the
// batch it lowers the first-seen and raises the last-seen minute, adds
// its networks, writes its grade when the batch has one and ORs in its
// reasons ([Batch].JA4Notes: what the observations of the flush interval
// said, the latest grade and the union of reasons); then it trims JA4s
// last seen before newest - R from both ZSETs and both HASHes and extends
// the four keys' expiry. Each step is idempotent and order-independent
// (the grade kept is the one of the newest minute, whichever node and
// whenever it wrote it; a grade written without its minute by an earlier
// version counts as the oldest), so the script needs no ack. The AS name is written
// when a recorder first sees it, when it changes, and hourly, not per
// event.
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
// so a flush is about four commands whatever the traffic. On a Cluster it
// groups the networks by the master that serves their slot (the client's
// slot map) and sends one script call per master: Redis 7's
// allow-cross-slot-keys flag lets a script reach keys of several slots of
// its own node. A flush is then one call per master plus about three
// (TestRedisCommandsPer1000Requests: 6 per 1000 requests at 1000
// requests/s from 50 networks on 3 masters, against 53 with a call per
// network). A call that meets a slot its node does not serve (a stale
// slot map, a resharding) fails at a network boundary, and the store
// finishes the batch with one call per network; on a Redis before 7.0,
// which cannot run the flagged script, it keeps to one call per network.
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
// HyperLogLogs, and per intercepted or unknown JA4 a PFCOUNT over its
// P:{N}:jc:M:<JA4> of the minutes whose bucket has that JA4), never SCAN.
// [Store.Series] does the same per step, without the JA4 counts.
// [Store.NewFingerprints] reads the {fp} index: the first-seen ZSET, then
// one pipeline with each JA4's last-seen score and networks and an HMGET
// of each of the grade and reasons HASHes. [RedisConfig].MaxWindow
// (31 days) caps a window.
//
// # Rules
//
// A [RuleConfig] (the `alerts.rules` of the server's YAML, see [Config]
// and [LoadConfig]) is one of three types, judged every
// [Config].EvaluateEvery (15 s) over a window of whole store minutes
// ending now:
//
//   - share: the intercepted share of a country's, ASN's or network's
//     browser connections reaches MinShare with at least MinConnections.
//   - surge: the share reaches SurgeFactor times the same subject's share
//     over the trailing Baseline (24 h, read at most hourly) and at least
//     MinShare; a subject without MinBaselineConnections in its baseline
//     is not judged.
//   - new_fingerprint: an intercepted or unknown JA4 first seen (anywhere)
//     within the window is carried by MinClients distinct clients of one
//     network over the window (the JA4's own HyperLogLog, see "Unique
//     clients"): one client making many connections with it counts once,
//     however busy the network.
//
// [DefaultRules] (used when none are configured) are sized for a mid-size
// site and justified in their doc comment. Only browser connections count:
// a share is of connections that could be judged against the browser they
// claim.
//
// # Incidents
//
// A firing rule opens an [Incident] for (rule, subject); new_fingerprint
// incidents are per (rule, network, JA4). Every node evaluates, but the
// [IncidentStore] makes one node the emitter: opening is a set-if-absent
// (Redis SET NX PX; a map under a mutex in memory) and every later change
// (reminder, recovery, resolution) a compare-and-set of the whole record
// (a Lua script on one key), so of two nodes racing exactly one changes it
// and only that one emits. Hence one alert per incident across all nodes,
// no repeat while it is open, a reminder no more often than Reminder (1 h;
// NoReminder turns them off), and one interception.resolved once the
// subject has stayed below its resolve line (ResolveBelow, the
// hysteresis: half the firing line by default; or too little traffic to
// judge) for ResolveAfter (one window). A surge is measured against the
// baseline frozen when the incident opened, so the surge inflating the
// trailing baseline does not resolve it. A new fingerprint's incident
// closes silently when the JA4 is no longer new.
//
// An event is written into the incident (Outgoing) before it goes to the
// outbox and cleared after. A node that dies in between leaves it there;
// after twice EvaluateEvery another evaluation (any node's, claiming the
// retry by compare-and-set) enqueues the same event. Event ids derive from
// the incident ("msg_<incident>_alert", "_r<N>", "_resolved"), so a
// repeat carries the same webhook-id and receivers deduplicate it.
// Incidents live 24 h after the last evaluation that touched them: long
// enough for any outage of the evaluators, short enough that a deployment
// that stopped alerting does not block alerts for ever.
//
// # Delivery
//
// Events go through an [Outbox]: a Redis Stream with one consumer group
// ([RedisOutbox]) when nodes share Redis, a slice with the same semantics
// ([MemoryOutbox]) in embedded mode, where the events die with the
// process. Each node's deliverer reads new entries (XREADGROUP), so each
// event goes to one node, and sends it to every sink (the webhooks:
// [FormatStandard], [FormatSlack], [FormatJSON]). It records after every
// attempt the per-(event, sink) [SinkState], so an event fanned out to two
// sinks is not sent again to the one that took it while the other is
// retried, whichever node retries. The entry is acknowledged (XACK) when
// every sink is done: delivered, given up after MaxAttempts, or gone. A
// node that dies mid-delivery leaves its entries pending; a live node
// renews its claims (XCLAIM to itself) every third of RedeliverAfter (1
// min), and any node takes over entries silent for longer (XAUTOCLAIM).
// [Evaluator.Close] lets deliveries finish until its context ends and
// leaves the rest in the outbox.
//
// Retries back off exponentially from Backoff (5 s) to MaxBackoff (1 h),
// each delay drawn from its upper half (jitter); a Retry-After header
// (seconds or HTTP date, capped at 6 h) replaces the delay. A 3xx is a
// failure (redirects are not followed), and 410 Gone ends delivery to the
// sink on that node until restart (Standard Webhooks, "Delivery success
// and failure"). webhook-id stays the event's across retries, sinks and
// nodes; webhook-timestamp is each attempt's, as the specification asks.
// Every attempt goes to the [DeliveryLog] (bounded: a Redis LIST trimmed
// on append, or a ring), which the dashboard shows. Logs and the delivery
// log name sinks, never their URLs (a Slack URL is its own secret) or
// headers.
//
// Standard Webhooks (https://www.standardwebhooks.com, spec 1.0.0): the
// body is {type, timestamp, data}; [Signer] signs "{id}.{timestamp}.{body}"
// with HMAC-SHA256 under the base64-decoded part of the "whsec_" secret and
// sends "v1,<base64>"; TestSignerSpecVector checks the reference
// libraries' example vector. An alert's grades and sample of verdict
// reasons come from the store's fingerprint index (every node's, see
// "Redis data model") and from the emitting node's [NoteBook]: its grade
// wins, reasons are united.
//
// # Coordination keys
//
// Beside the store's keys (same prefix P):
//
//	key                       type     content                                    expires
//	P:{S}:inc:<rule>[:<JA4>]  STRING   one open incident (JSON); S is the         24 h after the last
//	                                   subject's tag: CC:ASN (the network's own   evaluation touching it
//	                                   tag, so it shares their slot), CC or ASn
//	P:alerts:incidents        SET      keys of open incidents (advisory index)    never (members removed
//	                                                                              with their incident)
//	P:{outbox}:events         STREAM   events; consumer group "deliverers"        MAXLEN ~ 10 000
//	P:{outbox}:s:<event id>   HASH     sink → {attempts, outcome}                 7 d after the last change
//	P:{outbox}:log            LIST     delivery records, newest first             trimmed to DeliveryLogSize
//
// Every command touches one key, or keys of one tag ({outbox}), so all of
// it works on a Cluster.
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
//
// With [EvaluatorConfig].Registerer set, the evaluator exports (labels
// are bounded: sink_format has three values, outcome four, type three):
//
//	mitmwatch_alerts_deliveries_total{sink_format,outcome}     delivery attempts: delivered, retry, failed, gone
//	mitmwatch_alerts_delivery_duration_seconds{sink_format}   time of one attempt
//	mitmwatch_alerts_outbox_pending                           events not yet acknowledged (read every RedeliverAfter/3)
//	mitmwatch_alerts_events_total{type}                       events this node enqueued: alert, reminder, resolved
//	mitmwatch_alerts_evaluations_total                        evaluations run
//	mitmwatch_alerts_evaluation_errors_total                  evaluations that failed in part
//	mitmwatch_alerts_incidents_open                           open incidents, all nodes, at the last evaluation
package alerts
