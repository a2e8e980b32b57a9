package alerts

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// RedisConfig configures a [RedisStore]. The zero value is valid.
type RedisConfig struct {
	// Prefix starts every key, so several deployments can share a Redis.
	// It must not contain '{' or '}' (hash tags). Default "mw".
	Prefix string
	// AckTTL is how long Redis remembers, per network and recorder, the
	// last batch applied. A batch retried after a partial failure is exact
	// as long as the retry comes within AckTTL. Default 24 h.
	AckTTL time.Duration
	// MaxWindow caps a query's window, bounding the commands one query
	// sends. Default 31 days.
	MaxWindow time.Duration
}

// Defaults of [RedisConfig].
const (
	DefaultRedisPrefix = "mw"
	DefaultAckTTL      = 24 * time.Hour
	DefaultMaxWindow   = 31 * 24 * time.Hour
)

// maxScriptArgs starts a new applyLua call once one has this many
// arguments, keeping each command's size reasonable for Redis.
const maxScriptArgs = 100_000

// maxFingerprintNetworks caps the networks listed per fingerprint.
const maxFingerprintNetworks = 1000

// RedisStore is the [Store] shared by many nodes through Redis: a
// standalone server, Sentinel (redis.NewFailoverClient) or a Cluster
// (redis.NewClusterClient), all behind redis.UniversalClient. Each Apply is
// one pipeline; see doc.go for the data model and exactness.
type RedisStore struct {
	c redis.UniversalClient
	// perNetwork sends one applyLua per network (Cluster, Ring or an
	// unknown client: keys of different networks may live on different
	// nodes); a plain *redis.Client (standalone or Sentinel) gets one call
	// for the whole batch.
	perNetwork bool
	// nodeOf, set for a *redis.ClusterClient, names the master serving a
	// key, from the client's cached slot map. Networks on one master then
	// share one applyNodeLua call (Redis 7's allow-cross-slot-keys), so a
	// flush costs a call per master rather than per network. nodeCalls
	// turns off for good when the server cannot run that script (Redis 6).
	nodeOf    func(ctx context.Context, key string) (string, error)
	nodeCalls atomic.Bool
	k         redisKeys
	ackTTL    time.Duration
	maxWindow time.Duration
	scripts   redisScripts
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store on client; it does not contact Redis.
func NewRedisStore(client redis.UniversalClient, cfg RedisConfig) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("alerts: NewRedisStore: client is nil")
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("alerts: RedisConfig.Prefix %q contains a hash tag brace", cfg.Prefix)
	}
	if cfg.AckTTL < 0 {
		return nil, fmt.Errorf("alerts: RedisConfig.AckTTL is negative (%v)", cfg.AckTTL)
	}
	if cfg.MaxWindow < 0 {
		return nil, fmt.Errorf("alerts: RedisConfig.MaxWindow is negative (%v)", cfg.MaxWindow)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.AckTTL == 0 {
		cfg.AckTTL = DefaultAckTTL
	}
	if cfg.MaxWindow == 0 {
		cfg.MaxWindow = DefaultMaxWindow
	}
	_, single := client.(*redis.Client)
	s := &RedisStore{
		c: client, perNetwork: !single, k: redisKeys{prefix: cfg.Prefix},
		ackTTL: cfg.AckTTL, maxWindow: cfg.MaxWindow, scripts: newRedisScripts(),
	}
	if cc, ok := client.(*redis.ClusterClient); ok {
		s.nodeOf = func(ctx context.Context, key string) (string, error) {
			c, err := cc.MasterForKey(ctx, key)
			if err != nil {
				return "", err
			}
			return c.Options().Addr, nil
		}
		s.nodeCalls.Store(true)
	}
	return s, nil
}

// call is one command of a pipeline: a script, or a plain command.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
	plain  []any
}

// exec sends calls as one pipeline. Scripts go as EVALSHA; those Redis
// does not know (after a restart, or on a cluster node that never ran
// them) are sent again as EVAL in a second pipeline, which also caches
// them. The first error is returned; redis.Nil is not an error.
func (s *RedisStore) exec(ctx context.Context, calls []call) ([]*redis.Cmd, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(calls))
	pipe := s.c.Pipeline()
	for i, c := range calls {
		if c.script != nil {
			cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		} else {
			cmds[i] = pipe.Do(ctx, c.plain...)
		}
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below
	var retry []int
	for i, cmd := range cmds {
		if calls[i].script != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		pipe = s.c.Pipeline()
		for _, i := range retry {
			cmds[i] = calls[i].script.Eval(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx)
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return cmds, fmt.Errorf("alerts: redis %s: %w", cmd.Name(), err)
		}
	}
	return cmds, nil
}

// Apply writes b in one pipeline: applyLua for the counts (one call on
// a single node, one per network on a Cluster; exactly once, see doc.go),
// per minute the active-networks set, one fingerprintLua (the index, with
// the batch's JA4Notes), and new AS organisation names. On error the batch may
// be partially applied; calling Apply again with it completes it without
// counting any network twice.
func (s *RedisStore) Apply(ctx context.Context, b *Batch) error {
	if b == nil {
		return errors.New("alerts: redis store: nil batch")
	}
	if b.Node == "" || strings.ContainsAny(b.Node, "{}") {
		return fmt.Errorf("alerts: redis store: bad batch node %q", b.Node)
	}
	ret := b.Retention
	if ret <= 0 {
		ret = DefaultRetention
	}
	expireAt := func(minute int64) int64 { return (minute+1)*60 + int64(ret/time.Second) }
	ja4ExpireAt := func(minute int64) int64 { return (minute+1)*60 + int64(min(ret, JA4ClientRetention)/time.Second) }

	// Group the buckets per network, keeping their order.
	var order []Network
	byNet := make(map[Network][]*Bucket)
	active := make(map[int64][]any)
	type fpAcc struct {
		first, last int64
		nets        map[Network]int64
	}
	fps := make(map[string]*fpAcc)
	var maxMinute int64
	for i := range b.Buckets {
		bk := &b.Buckets[i]
		if _, ok := byNet[bk.Network]; !ok {
			order = append(order, bk.Network)
		}
		byNet[bk.Network] = append(byNet[bk.Network], bk)
		maxMinute = max(maxMinute, bk.Minute)
		for _, m := range []map[string]uint64{bk.InterceptedJA4, bk.UnknownJA4} {
			for ja4 := range m {
				f := fps[ja4]
				if f == nil {
					f = &fpAcc{first: bk.Minute, last: bk.Minute, nets: make(map[Network]int64)}
					fps[ja4] = f
				}
				f.first, f.last = min(f.first, bk.Minute), max(f.last, bk.Minute)
				if m, ok := f.nets[bk.Network]; !ok || bk.Minute < m {
					f.nets[bk.Network] = bk.Minute
				}
			}
		}
	}

	ackTTL := strconv.FormatInt(int64(s.ackTTL/time.Second), 10)
	applyCall := func(script *redis.Script, nets []Network) []call {
		var out []call
		var cur *call
		for _, n := range nets {
			if cur == nil || len(cur.args) > maxScriptArgs {
				out = append(out, call{script: script, args: []any{strconv.FormatUint(b.Seq, 10), ackTTL}})
				cur = &out[len(out)-1]
			}
			bks := byNet[n]
			cur.keys = append(cur.keys, s.k.ack(n, b.Node))
			cur.args = append(cur.args, len(bks))
			for _, bk := range bks {
				cur.keys, cur.args = s.appendBucket(cur.keys, cur.args, bk, expireAt(bk.Minute), ja4ExpireAt(bk.Minute))
			}
		}
		return out
	}
	for _, n := range order {
		for _, bk := range byNet[n] {
			if _, ok := active[bk.Minute]; !ok {
				active[bk.Minute] = []any{"SADD", s.k.active(bk.Minute)}
			}
			active[bk.Minute] = append(active[bk.Minute], n.String())
		}
	}

	// The counts go in one call (single node), one per master (Cluster,
	// grouped by the client's slot map) or one per network (otherwise).
	// grouped[i] lists the networks of calls[i] when it is a per-master
	// call that may be retried network by network.
	calls := make([]call, 0, 8)
	grouped := make(map[int][]Network)
	switch {
	case !s.perNetwork:
		calls = append(calls, applyCall(s.scripts.apply, order)...)
	case s.nodeOf != nil && s.nodeCalls.Load():
		var nodes []string
		byNode := make(map[string][]Network)
		for _, n := range order {
			node, err := s.nodeOf(ctx, s.k.ack(n, b.Node))
			if err != nil {
				node = "?" + n.String() // no slot map: a call of its own
			}
			if _, ok := byNode[node]; !ok {
				nodes = append(nodes, node)
			}
			byNode[node] = append(byNode[node], n)
		}
		for _, node := range nodes {
			nets := byNode[node]
			if len(nets) == 1 {
				calls = append(calls, applyCall(s.scripts.apply, nets)...)
				continue
			}
			for _, c := range applyCall(s.scripts.applyNode, nets) {
				// Declare only the first key; pass all as arguments.
				args := make([]any, 0, 1+len(c.keys)+len(c.args))
				args = append(args, len(c.keys))
				for _, k := range c.keys {
					args = append(args, k)
				}
				c.keys, c.args = c.keys[:1], append(args, c.args...)
				grouped[len(calls)] = nets
				calls = append(calls, c)
			}
		}
	default:
		for _, n := range order {
			calls = append(calls, applyCall(s.scripts.apply, []Network{n})...)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(active)) {
		calls = append(calls,
			call{plain: active[m]},
			call{plain: []any{"EXPIREAT", s.k.active(m), expireAt(m)}})
	}
	if len(fps) > 0 {
		keys := []string{s.k.fpFirst(), s.k.fpLast(), s.k.fpGrade(), s.k.fpReasons()}
		args := []any{expireAt(maxMinute), strconv.FormatInt(maxMinute-int64(ret/time.Minute), 10)}
		for _, ja4 := range slices.Sorted(maps.Keys(fps)) {
			f := fps[ja4]
			note := b.JA4Notes[ja4] // a note of a JA4 without buckets has no index entry to join
			keys = append(keys, s.k.fpNets(ja4))
			args = append(args, ja4, f.first, f.last, int(note.Grade), strconv.FormatUint(uint64(note.Reasons), 10), len(f.nets))
			for _, n := range slices.SortedFunc(maps.Keys(f.nets), compareNetworks) {
				args = append(args, n.String(), f.nets[n])
			}
		}
		calls = append(calls, call{script: s.scripts.fingerprint, keys: keys, args: args})
	}
	if len(b.ASOrgs) > 0 {
		hset := []any{"HSET", s.k.asOrgs()}
		for _, asn := range slices.Sorted(maps.Keys(b.ASOrgs)) {
			hset = append(hset, strconv.FormatUint(uint64(asn), 10), b.ASOrgs[asn])
		}
		calls = append(calls,
			call{plain: hset},
			call{plain: []any{"EXPIRE", s.k.asOrgs(), int64(ret / time.Second)}})
	}
	cmds, err := s.exec(ctx, calls)
	if err == nil || len(grouped) == 0 {
		return err
	}
	return s.retryGrouped(ctx, cmds, grouped, applyCall)
}

// retryGrouped follows a pipeline in which some calls failed. A failed
// per-master call (the slot map was stale, a slot is migrating, or the
// server predates allow-cross-slot-keys) is sent again one network per
// call; the acks skip the networks it had applied before failing, so the
// batch stays exact. Any other failure is returned as it is.
func (s *RedisStore) retryGrouped(ctx context.Context, cmds []*redis.Cmd, grouped map[int][]Network, applyCall func(*redis.Script, []Network) []call) error {
	var retry []call
	var other error
	seen := make(map[Network]bool)
	for i, cmd := range cmds {
		err := cmd.Err()
		if err == nil || errors.Is(err, redis.Nil) {
			continue
		}
		nets, ok := grouped[i]
		if !ok {
			if other == nil {
				other = fmt.Errorf("alerts: redis %s: %w", cmd.Name(), err)
			}
			continue
		}
		if strings.Contains(err.Error(), "Error compiling script") {
			s.nodeCalls.Store(false) // Redis before 7.0: no script flags
		}
		for _, n := range nets {
			if !seen[n] {
				seen[n] = true
				retry = append(retry, applyCall(s.scripts.apply, []Network{n})...)
			}
		}
	}
	if len(retry) > 0 {
		if _, err := s.exec(ctx, retry); err != nil && other == nil {
			other = err
		}
	}
	return other
}

// appendBucket appends one minute's applyLua keys (bucket, clients, one
// per JA4 with clients, in sorted JA4 order) and arguments; the JA4
// client HLLs expire at ja4ExpireAt, the rest at expireAt.
func (s *RedisStore) appendBucket(keys []string, args []any, bk *Bucket, expireAt, ja4ExpireAt int64) ([]string, []any) {
	n := bk.Network
	keys = append(keys, s.k.bucket(n, bk.Minute), s.k.clients(n, bk.Minute))
	args = append(args, expireAt, 0)
	nfAt := len(args) - 1
	nf := 0
	field := func(name string, v uint64) {
		if v != 0 {
			args = append(args, name, strconv.FormatUint(v, 10))
			nf++
		}
	}
	c := bk.Counts
	field(fieldConnections, c.Connections)
	field(fieldBrowser, c.Browser)
	field(fieldClean, c.Clean)
	field(fieldIntercepted, c.Intercepted)
	field(fieldSpoofed, c.Spoofed)
	field(fieldUnknown, c.Unknown)
	for _, sub := range []struct {
		prefix string
		m      map[string]uint64
	}{{fieldProduct, bk.Products}, {fieldInterceptedJA4, bk.InterceptedJA4}, {fieldUnknownJA4, bk.UnknownJA4}} {
		for _, name := range slices.Sorted(maps.Keys(sub.m)) {
			field(sub.prefix+name, sub.m[name])
		}
	}
	args[nfAt] = nf
	args = appendHashes(args, bk.Clients)
	args = append(args, len(bk.JA4Clients), ja4ExpireAt)
	for _, ja4 := range slices.Sorted(maps.Keys(bk.JA4Clients)) {
		keys = append(keys, s.k.ja4Clients(n, bk.Minute, ja4))
		args = appendHashes(args, bk.JA4Clients[ja4])
	}
	return keys, args
}

// appendHashes appends the count of client hashes hs, then each as an
// HLL element: the keyed hash's 8 bytes, which Redis hashes again for
// its registers.
func appendHashes(args []any, hs []uint64) []any {
	args = append(args, len(hs))
	for _, h := range hs {
		var e [8]byte
		binary.BigEndian.PutUint64(e[:], h)
		args = append(args, e[:])
	}
	return args
}

func compareNetworks(a, b Network) int {
	if c := cmp.Compare(a.Country, b.Country); c != 0 {
		return c
	}
	return cmp.Compare(a.ASN, b.ASN)
}

// activeMinutes reads the active-networks sets of minutes [first, end) and
// returns, per network keep accepts, the minutes it has data in.
func (s *RedisStore) activeMinutes(ctx context.Context, first, end int64, keep func(Network) bool) (map[Network][]int64, error) {
	if time.Duration(end-first)*time.Minute > s.maxWindow {
		return nil, fmt.Errorf("alerts: redis store: query window of %v exceeds MaxWindow %v", time.Duration(end-first)*time.Minute, s.maxWindow)
	}
	pipe := s.c.Pipeline()
	cmds := make([]*redis.StringSliceCmd, 0, end-first)
	for m := first; m < end; m++ {
		cmds = append(cmds, pipe.SMembers(ctx, s.k.active(m)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("alerts: redis store: read active networks: %w", err)
	}
	out := make(map[Network][]int64)
	for i, cmd := range cmds {
		for _, member := range cmd.Val() {
			n, err := ParseNetwork(member)
			if err != nil {
				return nil, fmt.Errorf("alerts: redis store: %s: %w", s.k.active(first+int64(i)), err)
			}
			if keep == nil || keep(n) {
				out[n] = append(out[n], first+int64(i))
			}
		}
	}
	return out, nil
}

// sumCall builds a sumLua call over minutes of network n; with ja4 it
// also counts the distinct clients of each intercepted or unknown JA4.
func (s *RedisStore) sumCall(n Network, minutes []int64, ja4 bool) call {
	keys := make([]string, 1, 1+2*len(minutes))
	keys[0] = s.k.tmp(n)
	for _, m := range minutes {
		keys = append(keys, s.k.bucket(n, m))
	}
	for _, m := range minutes {
		keys = append(keys, s.k.clients(n, m))
	}
	args := []any{len(minutes)}
	if ja4 {
		args = append(args, s.k.bucketPrefix(n), s.k.ja4ClientsPrefix(n))
	}
	return call{script: s.scripts.sum, keys: keys, args: args}
}

// parseSum decodes a sumLua reply into a networkWindow.
func parseSum(n Network, v any) (networkWindow, error) {
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 1 {
		return networkWindow{}, fmt.Errorf("alerts: redis store: unexpected sum reply %T", v)
	}
	w := networkWindow{network: n}
	c, _ := arr[0].(int64)
	w.clients = uint64(c)
	for i := 1; i+1 < len(arr); i += 2 {
		f, _ := arr[i].(string)
		x, _ := arr[i+1].(int64)
		val := uint64(x)
		switch {
		case f == fieldConnections:
			w.counts.Connections = val
		case f == fieldBrowser:
			w.counts.Browser = val
		case f == fieldClean:
			w.counts.Clean = val
		case f == fieldIntercepted:
			w.counts.Intercepted = val
		case f == fieldSpoofed:
			w.counts.Spoofed = val
		case f == fieldUnknown:
			w.counts.Unknown = val
		case strings.HasPrefix(f, fieldProduct):
			w.products = inc(w.products, f[len(fieldProduct):], val)
		case strings.HasPrefix(f, fieldInterceptedJA4):
			w.intercepted = inc(w.intercepted, f[len(fieldInterceptedJA4):], val)
		case strings.HasPrefix(f, fieldUnknownJA4):
			w.unknown = inc(w.unknown, f[len(fieldUnknownJA4):], val)
		case strings.HasPrefix(f, fieldJA4Clients):
			w.ja4Clients = inc(w.ja4Clients, f[len(fieldJA4Clients):], val)
		}
	}
	return w, nil
}

// orgNames reads the organisation names of asns.
func (s *RedisStore) orgNames(ctx context.Context, asns []uint32) (map[uint32]string, error) {
	out := make(map[uint32]string)
	if len(asns) == 0 {
		return out, nil
	}
	fields := make([]string, len(asns))
	for i, a := range asns {
		fields[i] = strconv.FormatUint(uint64(a), 10)
	}
	vals, err := s.c.HMGet(ctx, s.k.asOrgs(), fields...).Result()
	if err != nil {
		return nil, fmt.Errorf("alerts: redis store: read AS names: %w", err)
	}
	for i, v := range vals {
		if name, ok := v.(string); ok {
			out[asns[i]] = name
		}
	}
	return out, nil
}

// Top implements [Store.Top]: one pipeline reads the window's active
// sets, a second sums each network's minutes with one sumLua.
func (s *RedisStore) Top(ctx context.Context, q TopQuery) ([]NetworkStats, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	first, end := minuteRange(q.From, q.To)
	active, err := s.activeMinutes(ctx, first, end, nil)
	if err != nil {
		return nil, err
	}
	nets := slices.SortedFunc(maps.Keys(active), compareNetworks)
	calls := make([]call, len(nets))
	for i, n := range nets {
		calls[i] = s.sumCall(n, active[n], q.JA4Clients)
	}
	cmds, err := s.exec(ctx, calls)
	if err != nil {
		return nil, err
	}
	windows := make([]networkWindow, len(nets))
	asnSet := make(map[uint32]bool)
	for i, n := range nets {
		if windows[i], err = parseSum(n, cmds[i].Val()); err != nil {
			return nil, err
		}
		asnSet[n.ASN] = true
	}
	var orgs map[uint32]string
	if q.Group != GroupCountry {
		if orgs, err = s.orgNames(ctx, slices.Sorted(maps.Keys(asnSet))); err != nil {
			return nil, err
		}
	}
	return rankTop(q, windows, orgs), nil
}

// Series implements [Store.Series]: the window's active sets, then one
// sumLua per matching network and step.
func (s *RedisStore) Series(ctx context.Context, q SeriesQuery) ([]Point, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	first, end := minuteRange(q.From, q.To)
	step := int64(q.Step / time.Minute)
	pts := seriesPoints(first, end, step)
	active, err := s.activeMinutes(ctx, first, end, q.matches)
	if err != nil {
		return nil, err
	}
	var calls []call
	var idx []int
	for _, n := range slices.SortedFunc(maps.Keys(active), compareNetworks) {
		mins := active[n] // ascending
		for i := 0; i < len(mins); {
			p := (mins[i] - first) / step
			j := i
			for j < len(mins) && (mins[j]-first)/step == p {
				j++
			}
			calls = append(calls, s.sumCall(n, mins[i:j], false))
			idx = append(idx, int(p))
			i = j
		}
	}
	cmds, err := s.exec(ctx, calls)
	if err != nil {
		return nil, err
	}
	for i, cmd := range cmds {
		w, err := parseSum(Network{}, cmd.Val())
		if err != nil {
			return nil, err
		}
		pts[idx[i]].Counts.Add(w.counts)
		pts[idx[i]].Clients += w.clients
	}
	return pts, nil
}

// NewFingerprints implements [Store.NewFingerprints] from the {fp} index:
// the first-seen ZSET, then one pipeline of each JA4's last-seen time and
// networks and one HMGET each of the grade and reasons HASHes.
func (s *RedisStore) NewFingerprints(ctx context.Context, q FingerprintQuery) ([]FingerprintSighting, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	by := &redis.ZRangeBy{Min: strconv.FormatInt(minuteOf(q.Since), 10), Max: "+inf"}
	if q.Limit > 0 {
		by.Count = int64(q.Limit)
	}
	firsts, err := s.c.ZRevRangeByScoreWithScores(ctx, s.k.fpFirst(), by).Result()
	if err != nil {
		return nil, fmt.Errorf("alerts: redis store: read fingerprint index: %w", err)
	}
	if len(firsts) == 0 {
		return nil, nil
	}
	pipe := s.c.Pipeline()
	lasts := make([]*redis.FloatCmd, len(firsts))
	nets := make([]*redis.ZSliceCmd, len(firsts))
	ja4s := make([]string, len(firsts))
	for i, z := range firsts {
		ja4, _ := z.Member.(string)
		ja4s[i] = ja4
		lasts[i] = pipe.ZScore(ctx, s.k.fpLast(), ja4)
		nets[i] = pipe.ZRangeWithScores(ctx, s.k.fpNets(ja4), 0, maxFingerprintNetworks-1)
	}
	grades := pipe.HMGet(ctx, s.k.fpGrade(), ja4s...)
	reasons := pipe.HMGet(ctx, s.k.fpReasons(), ja4s...)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("alerts: redis store: read fingerprint networks: %w", err)
	}
	out := make([]FingerprintSighting, len(firsts))
	asnSet := make(map[uint32]bool)
	for i, z := range firsts {
		ja4, _ := z.Member.(string)
		fs := FingerprintSighting{JA4: ja4, FirstSeen: minuteTime(int64(z.Score)), LastSeen: minuteTime(int64(lasts[i].Val()))}
		for _, nz := range nets[i].Val() {
			member, _ := nz.Member.(string)
			n, err := ParseNetwork(member)
			if err != nil {
				return nil, fmt.Errorf("alerts: redis store: %s: %w", s.k.fpNets(ja4), err)
			}
			asnSet[n.ASN] = true
			fs.Networks = append(fs.Networks, FingerprintNetwork{Network: n, FirstSeen: minuteTime(int64(nz.Score))})
		}
		fs.setNote(JA4Note{Grade: decodeGrade(grades.Val(), i), Reasons: decodeReasons(reasons.Val(), i)})
		out[i] = fs
	}
	orgs, err := s.orgNames(ctx, slices.Sorted(maps.Keys(asnSet)))
	if err != nil {
		return nil, err
	}
	for i := range out {
		for j := range out[i].Networks {
			out[i].Networks[j].ASOrg = orgs[out[i].Networks[j].ASN]
		}
	}
	return sortSightings(out, q.Limit), nil
}

// decodeGrade returns the grade in the i-th value of an HMGET of the
// grade HASH ("grade:minute", or a bare grade as written by earlier
// versions); GradeNone when absent or not a grade.
func decodeGrade(vals []any, i int) fingerprints.Grade {
	if i >= len(vals) {
		return fingerprints.GradeNone
	}
	v, _ := vals[i].(string)
	v, _, _ = strings.Cut(v, ":")
	g, err := strconv.ParseUint(v, 10, 8)
	if err != nil || g > uint64(fingerprints.GradeF) {
		return fingerprints.GradeNone
	}
	return fingerprints.Grade(g)
}

// decodeReasons returns the reasons in the i-th value of an HMGET of the
// reasons HASH. fingerprintLua stores what Lua's bit.bor returns, a
// signed 32-bit number (bit 31 set is negative), so the value is parsed
// as a 64-bit integer and truncated to its low 32 bits.
func decodeReasons(vals []any, i int) fingerprints.Reasons {
	if i >= len(vals) {
		return 0
	}
	v, _ := vals[i].(string)
	r, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return fingerprints.Reasons(uint32(r))
}
