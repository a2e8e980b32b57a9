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
// minute its bucket HASH, its clients HLL and one JA4 clients HLL per JA4
// of the minute that has clients. ARGV[1] is the batch Seq, ARGV[2] the
// ack TTL in seconds; then per network: the minute count, and per minute:
// EXPIREAT time, field count, field/increment pairs, client count, client
// hashes, JA4 HLL count, the JA4 HLLs' EXPIREAT time (JA4ClientRetention
// caps it), and per JA4 HLL (in the order of its keys): hash count,
// hashes.
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
-- pfadd adds the n hashes from A[a] to HLL key, in chunks (Lua's unpack
-- has a stack limit), and sets its expiry.
local function pfadd(key, a, n, at)
  local i = 0
  while i < n do
    local j = math.min(i + 500, n)
    redis.call('PFADD', key, unpack(A, a + i, a + j - 1))
    i = j
  end
  redis.call('EXPIREAT', key, at)
end
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
      pfadd(K[k + 1], a, nc, at)
    end
    a, k = a + nc, k + 2
    local nj, jat = tonumber(A[a]), A[a + 1]
    a = a + 2
    for j = 1, nj do
      local nh = tonumber(A[a])
      a = a + 1
      if not skip and nh > 0 then
        pfadd(K[k], a, nh, jat)
      end
      a, k = a + nh, k + 1
    end
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
// KEYS[1] first-seen ZSET, KEYS[2] last-seen ZSET, KEYS[3] grade HASH,
// KEYS[4] reasons HASH, KEYS[5..] one networks ZSET per JA4. ARGV[1]
// EXPIREAT time, ARGV[2] cutoff minute (JA4s last seen before it are
// dropped from the index, with their grade and reasons); then per JA4:
// name, first minute, last minute, grade (0: none), reasons (the bits of
// a fingerprints.Reasons in decimal, 0: none), network count,
// network/minute pairs.
//
// ZADD LT keeps the earliest score and ZADD GT the latest, reasons are
// OR-ed into the stored ones (bit.bor, whose result is a signed 32-bit
// number: the Go side truncates it back to uint32), a grade is written
// only when not 0 and with the JA4's last minute in the batch, over a
// grade of an older minute only, and expiries are only ever extended, so
// the script is idempotent and order-independent: it needs no ack. (The
// grade of one JA4 rarely differs between hellos; when it does, the newest
// minute's is kept, whatever order the batches arrive in.)
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
for k = 5, #KEYS do
  local ja4 = ARGV[a]
  redis.call('ZADD', KEYS[1], 'LT', ARGV[a + 1], ja4)
  redis.call('ZADD', KEYS[2], 'GT', ARGV[a + 2], ja4)
  if tonumber(ARGV[a + 3]) ~= 0 then
    -- The grade of the newest minute wins: "grade:minute", so that a batch
    -- retried late or a node catching up does not put back an older one.
    -- A bare grade (written before the minute was kept) counts as oldest.
    local cur = redis.call('HGET', KEYS[3], ja4)
    local at = cur and tonumber(string.match(cur, ':(%-?%d+)$'))
    if not at or tonumber(ARGV[a + 2]) >= at then
      redis.call('HSET', KEYS[3], ja4, ARGV[a + 3] .. ':' .. ARGV[a + 2])
    end
  end
  local r = tonumber(ARGV[a + 4])
  if r ~= 0 then
    local cur = tonumber(redis.call('HGET', KEYS[4], ja4) or '0')
    redis.call('HSET', KEYS[4], ja4, tostring(bit.bor(cur, r)))
  end
  local nn = tonumber(ARGV[a + 5])
  a = a + 6
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
if #old > 0 then
  redis.call('HDEL', KEYS[3], unpack(old))
  redis.call('HDEL', KEYS[4], unpack(old))
end
extend(KEYS[1], ARGV[1])
extend(KEYS[2], ARGV[1])
extend(KEYS[3], ARGV[1])
extend(KEYS[4], ARGV[1])
return 1
`

// sumLua sums one network's buckets and counts its distinct clients
// over a set of minutes, so a query costs one command per network rather
// than one per minute.
//
// KEYS[1] is the network's tmp key, then n bucket HASHes, then the n
// matching client HLLs. ARGV[1] is n. With ARGV[2] (the network's bucket
// key prefix, redisKeys.bucketPrefix) and ARGV[3] (its JA4 clients
// prefix, redisKeys.ja4ClientsPrefix) it also counts, for each JA4 of an
// intercepted or unknown field it summed, the distinct clients over the
// minutes whose bucket has that field: the union of the JA4 clients HLLs
// ARGV[3] .. minute .. ":" .. JA4, the minute being the bucket key after
// ARGV[2]. Those keys are not declared, but they carry the network's hash
// tag, so on a Cluster they are in the declared keys' slot, which Redis
// allows.
//
// Returns {clients, field, sum, ..., "jc:"..JA4, clients, ...}, without
// the JA4s that have no clients (only connections without an address).
// PFCOUNT takes the union of up to 1000 HLLs directly; larger unions are
// merged into the tmp key in chunks (Lua's unpack has a stack limit). The
// tmp key expires after a minute, in case the script fails before it
// deletes it.
const sumLua = `
local n = tonumber(ARGV[1])
local bp, jp = ARGV[2], ARGV[3]
local sums, order = {}, {}
local jkeys, jorder = {}, {}
for k = 2, n + 1 do
  local kv = redis.call('HGETALL', KEYS[k])
  local minute
  for i = 1, #kv, 2 do
    local f = kv[i]
    if sums[f] == nil then
      sums[f] = 0
      order[#order + 1] = f
    end
    sums[f] = sums[f] + tonumber(kv[i + 1])
    local p = jp and string.sub(f, 1, 3)
    if p and (p == '` + fieldInterceptedJA4 + `' or p == '` + fieldUnknownJA4 + `') then
      local ja4 = string.sub(f, 4)
      if minute == nil then
        if string.sub(KEYS[k], 1, #bp) ~= bp then
          return redis.error_reply('sum: bucket key ' .. KEYS[k] .. ' does not start with ' .. bp)
        end
        minute = string.sub(KEYS[k], #bp + 1)
      end
      local key = jp .. minute .. ':' .. ja4
      local l = jkeys[ja4]
      if l == nil then
        l = {}
        jkeys[ja4] = l
        jorder[#jorder + 1] = ja4
      end
      -- an intercepted and an unknown field of one minute share a key
      if l[#l] ~= key then l[#l + 1] = key end
    end
  end
end
-- union counts the distinct elements of HLLs t[i..j].
local function union(t, i, j)
  if j < i then return 0 end
  if j - i < 1000 then
    return redis.call('PFCOUNT', unpack(t, i, j))
  end
  redis.call('DEL', KEYS[1])
  while i <= j do
    local e = math.min(i + 999, j)
    redis.call('PFMERGE', KEYS[1], unpack(t, i, e))
    -- Redis does not undo a failed script's writes: should a later
    -- command fail, the tmp key goes by itself.
    redis.call('PEXPIRE', KEYS[1], 60000)
    i = e + 1
  end
  local c = redis.call('PFCOUNT', KEYS[1])
  redis.call('DEL', KEYS[1])
  return c
end
local out = {union(KEYS, n + 2, 2 * n + 1)}
for _, f in ipairs(order) do
  out[#out + 1] = f
  out[#out + 1] = sums[f]
end
for _, ja4 in ipairs(jorder) do
  local c = union(jkeys[ja4], 1, #jkeys[ja4])
  if c > 0 then -- none: only connections without a client address
    out[#out + 1] = '` + fieldJA4Clients + `' .. ja4
    out[#out + 1] = c
  end
end
return out
`
