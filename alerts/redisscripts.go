package alerts

import "github.com/redis/go-redis/v9"

// applyScript adds one network's share of a batch, exactly once.
//
// KEYS[1] is the network's ack key for the batch's node; then for each
// minute its bucket HASH and clients HLL (all with the network's hash tag,
// so one slot). ARGV[1] is the batch Seq, ARGV[2] the ack TTL in seconds;
// then per minute: EXPIREAT time, field count, field/increment pairs,
// client count, client hashes.
//
// A script runs atomically in Redis, so a network's share is applied
// entirely or not at all, and the ack check makes a retry of an applied
// share a no-op. Returns 1 if applied, 0 if it was already.
var applyScript = redis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then return 0 end
local a = 3
for k = 2, #KEYS, 2 do
  local at = ARGV[a]
  local nf = tonumber(ARGV[a + 1])
  a = a + 2
  for i = 1, nf do
    redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  redis.call('EXPIREAT', KEYS[k], at)
  local nc = tonumber(ARGV[a])
  a = a + 1
  local i = 0
  while i < nc do
    local j = math.min(i + 500, nc)
    redis.call('PFADD', KEYS[k + 1], unpack(ARGV, a + i, a + j - 1))
    i = j
  end
  if nc > 0 then redis.call('EXPIREAT', KEYS[k + 1], at) end
  a = a + nc
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
`)

// fingerprintScript updates the fingerprint index (all keys tagged {fp}).
//
// KEYS[1] first-seen ZSET, KEYS[2] last-seen ZSET, KEYS[3..] one networks
// ZSET per JA4. ARGV[1] EXPIREAT time, ARGV[2] cutoff minute (JA4s last seen
// before it are dropped from the index); then per JA4: name, first minute,
// last minute, network count, network/minute pairs.
//
// ZADD LT keeps the earliest score and ZADD GT the latest, so the script
// is idempotent and order-independent: it needs no ack.
var fingerprintScript = redis.NewScript(`
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
  redis.call('EXPIREAT', KEYS[k], ARGV[1])
end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2], 'LIMIT', 0, 1000)
for _, ja4 in ipairs(old) do
  redis.call('ZREM', KEYS[1], ja4)
  redis.call('ZREM', KEYS[2], ja4)
end
redis.call('EXPIREAT', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[2], ARGV[1])
return 1
`)

// sumScript sums one network's buckets and counts its distinct clients
// over a set of minutes, so a query costs one command per network rather
// than one per minute.
//
// KEYS[1] is the network's tmp key, then n bucket HASHes, then the n
// matching client HLLs. ARGV[1] is n. Returns {clients, field, sum, ...}.
// PFCOUNT takes the union of up to 1000 HLLs directly; larger windows are
// merged into the tmp key in chunks (Lua's unpack has a stack limit).
var sumScript = redis.NewScript(`
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
`)
