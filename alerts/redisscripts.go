package alerts

import "github.com/redis/go-redis/v9"

// redisScripts are the store's Lua scripts, loaded on demand (EVALSHA,
// then EVAL when Redis does not know them).
type redisScripts struct {
	apply, applyNode, fingerprint, sum *redis.Script
}

func newRedisScripts() redisScripts {
	return redisScripts{
		apply:       redis.NewScript(applyLua),
		applyNode:   redis.NewScript(applyNodeLua),
		fingerprint: redis.NewScript(fingerprintLua),
		sum:         redis.NewScript(sumLua),
	}
}

// applyLua adds networks' shares of a batch, each exactly once.
//
// KEYS, per network: its ack key for the batch's node, then for each
// minute its bucket HASH and clients HLL. ARGV[1] is the batch Seq, ARGV[2]
// the ack TTL in seconds; then per network: the minute count, and per
// minute: EXPIREAT time, field count, field/increment pairs, client count,
// client hashes.
//
// A script runs without interleaving, and each network's writes are
// followed by its ack, so a retry skips the networks already applied. On
// a single node one call carries every network; on a Cluster one call
// carries one network (its keys share a hash tag, hence a slot), or
// applyNodeLua carries every network of one master.
// Returns the number of networks applied.
const applyLua = `
local K, A = KEYS, ARGV
` + applyBody

// applyBody is applyLua after its prelude, which names the keys K and the
// arguments A.
const applyBody = `
local seq = tonumber(A[1])
local applied = 0
local a, k = 3, 1
while k <= #K do
  local ack = K[k]
  local skip = seq <= tonumber(redis.call('GET', ack) or '0')
  local nm = tonumber(A[a])
  a, k = a + 1, k + 1
  for m = 1, nm do
    local at = A[a]
    local nf = tonumber(A[a + 1])
    a = a + 2
    if not skip then
      for i = 0, nf - 1 do
        redis.call('HINCRBY', K[k], A[a + 2 * i], A[a + 2 * i + 1])
      end
      redis.call('EXPIREAT', K[k], at)
    end
    a = a + 2 * nf
    local nc = tonumber(A[a])
    a = a + 1
    if not skip and nc > 0 then
      local i = 0
      while i < nc do
        local j = math.min(i + 500, nc)
        redis.call('PFADD', K[k + 1], unpack(A, a + i, a + j - 1))
        i = j
      end
      redis.call('EXPIREAT', K[k + 1], at)
    end
    a, k = a + nc, k + 2
  end
  if not skip then
    redis.call('SET', ack, A[1], 'EX', A[2])
    applied = applied + 1
  end
end
return applied
`

// applyNodeLua is applyLua for networks whose slots one Cluster master
// serves, so a flush sends one call per master instead of one per
// network. Redis 7 routes and checks a call by its declared keys, which
// must share a slot, and the allow-cross-slot-keys flag lets the script
// reach undeclared keys of other slots on the same node. So KEYS[1] is
// the first network's ack key (it routes the call), ARGV[1] is the count
// of applyLua's keys, followed by those keys and then applyLua's ARGV.
//
// Each network's first access is its ack key, in the network's slot, so a
// call that meets a slot the node does not serve (a stale slot map, a
// migration) stops before writing anything of that network; the networks
// before it are applied and acknowledged, and the store retries the rest
// one network per call.
const applyNodeLua = "#!lua flags=allow-cross-slot-keys\n" + `
local nk = tonumber(ARGV[1])
local K, A = {}, {}
for i = 1, nk do K[i] = ARGV[i + 1] end
for i = nk + 2, #ARGV do A[#A + 1] = ARGV[i] end
` + applyBody

// fingerprintLua updates the fingerprint index (all keys tagged {fp}).
//
// KEYS[1] first-seen ZSET, KEYS[2] last-seen ZSET, KEYS[3..] one networks
// ZSET per JA4. ARGV[1] EXPIREAT time, ARGV[2] cutoff minute (JA4s last seen
// before it are dropped from the index); then per JA4: name, first minute,
// last minute, network count, network/minute pairs.
//
// ZADD LT keeps the earliest score and ZADD GT the latest, and expiries
// are only ever extended, so the script is idempotent and
// order-independent: it needs no ack.
const fingerprintLua = `
local now = tonumber(redis.call('TIME')[1])
-- extend sets an absolute expiry unless the key already lives longer: a
-- late batch for an old minute must not shorten the index's life.
local function extend(key, at)
  local ttl = redis.call('TTL', key)
  if ttl < 0 or now + ttl < tonumber(at) then
    redis.call('EXPIREAT', key, at)
  end
end
local a = 3
for k = 3, #KEYS do
  local ja4 = ARGV[a]
  redis.call('ZADD', KEYS[1], 'LT', ARGV[a + 1], ja4)
  redis.call('ZADD', KEYS[2], 'GT', ARGV[a + 2], ja4)
  local nn = tonumber(ARGV[a + 3])
  a = a + 4
  for i = 1, nn do
    redis.call('ZADD', KEYS[k], 'LT', ARGV[a + 1], ARGV[a])
    a = a + 2
  end
  extend(KEYS[k], ARGV[1])
end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2], 'LIMIT', 0, 1000)
for _, ja4 in ipairs(old) do
  redis.call('ZREM', KEYS[1], ja4)
  redis.call('ZREM', KEYS[2], ja4)
end
extend(KEYS[1], ARGV[1])
extend(KEYS[2], ARGV[1])
return 1
`

// sumLua sums one network's buckets and counts its distinct clients
// over a set of minutes, so a query costs one command per network rather
// than one per minute.
//
// KEYS[1] is the network's tmp key, then n bucket HASHes, then the n
// matching client HLLs. ARGV[1] is n. Returns {clients, field, sum, ...}.
// PFCOUNT takes the union of up to 1000 HLLs directly; larger windows are
// merged into the tmp key in chunks (Lua's unpack has a stack limit).
const sumLua = `
local n = tonumber(ARGV[1])
local sums, order = {}, {}
for k = 2, n + 1 do
  local kv = redis.call('HGETALL', KEYS[k])
  for i = 1, #kv, 2 do
    local f = kv[i]
    if sums[f] == nil then
      sums[f] = 0
      order[#order + 1] = f
    end
    sums[f] = sums[f] + tonumber(kv[i + 1])
  end
end
local clients = 0
if n > 0 and n <= 1000 then
  clients = redis.call('PFCOUNT', unpack(KEYS, n + 2, 2 * n + 1))
elseif n > 1000 then
  redis.call('DEL', KEYS[1])
  local i = n + 2
  while i <= 2 * n + 1 do
    local j = math.min(i + 999, 2 * n + 1)
    redis.call('PFMERGE', KEYS[1], unpack(KEYS, i, j))
    i = j + 1
  end
  clients = redis.call('PFCOUNT', KEYS[1])
  redis.call('DEL', KEYS[1])
end
local out = {clients}
for _, f in ipairs(order) do
  out[#out + 1] = f
  out[#out + 1] = sums[f]
end
return out
`
