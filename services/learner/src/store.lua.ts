// The Lua scripts that change a session. Redis runs a script atomically, so two replicas applying
// the same batch (or a batch redelivered after a crash) interleave only at batch boundaries, and
// the per-session `seen` set makes the second application of an event a no-op: the aggregate is
// the same whatever the number of replicas or deliveries.

/**
 * KEYS: meta learned allowed first last agents addresses seen resolvers
 * ARGV: now_ms dedupe_ttl_ms max_seen max_destinations max_agent_entries max_addresses ttl_s,
 *       then per event: id cls destination_key address_key agent time_ms answered ip
 * A `resolver` event only counts an answering loopback resolver; `answered` (1) on any event counts
 * its address in `resolvers` too.
 * Returns {applied, learned, duplicates, before_start, overflow} or {-1} when the session is gone.
 */
export const APPLY_SCRIPT = `
local meta, learned, allowed, first, last, agents, addresses, seen, resolvers =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local started = redis.call('HGET', meta, 'started_ms')
if not started then return {-1, 0, 0, 0, 0} end
started = tonumber(started)
local now = tonumber(ARGV[1])
local dedupe_ttl = tonumber(ARGV[2])
local max_seen = tonumber(ARGV[3])
local max_dest = tonumber(ARGV[4])
local max_agents = tonumber(ARGV[5])
local max_addr = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', seen, '-inf', '(' .. (now - dedupe_ttl))
local applied, nlearned, dup, before, overflow = 0, 0, 0, 0, 0
local i = 8
local function answered(ip)
  if redis.call('HEXISTS', resolvers, ip) == 1 or redis.call('HLEN', resolvers) < max_addr then
    redis.call('HINCRBY', resolvers, ip, 1)
    return false
  end
  return true
end
while i + 7 <= #ARGV do
  local id, cls, dk, ak, agent, t = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 5])
  local ans, ip = ARGV[i + 6] == '1', ARGV[i + 7]
  i = i + 8
  if t < started then
    before = before + 1
  elseif redis.call('ZADD', seen, 'NX', now, id) == 0 then
    dup = dup + 1
  elseif cls == 'resolver' then
    if answered(ip) then overflow = overflow + 1 end
    applied = applied + 1
  elseif redis.call('HEXISTS', first, dk) == 0 and redis.call('HLEN', first) >= max_dest then
    overflow = overflow + 1
  else
    local lost = false
    redis.call('HINCRBY', cls == 'learn' and learned or allowed, dk, 1)
    local f = redis.call('HGET', first, dk)
    if not f or t < tonumber(f) then redis.call('HSET', first, dk, t) end
    local l = redis.call('HGET', last, dk)
    if not l or t > tonumber(l) then redis.call('HSET', last, dk, t) end
    local member = dk .. '\\31' .. agent
    if redis.call('SISMEMBER', agents, member) == 0 then
      if redis.call('SCARD', agents) < max_agents then redis.call('SADD', agents, member) else lost = true end
    end
    if redis.call('HEXISTS', addresses, ak) == 1 or redis.call('HLEN', addresses) < max_addr then
      redis.call('HINCRBY', addresses, ak, 1)
    else
      lost = true
    end
    if ans and answered(ip) then lost = true end
    if lost then overflow = overflow + 1 end
    applied = applied + 1
    if cls == 'learn' then nlearned = nlearned + 1 end
  end
end
local excess = redis.call('ZCARD', seen) - max_seen
if excess > 0 then redis.call('ZREMRANGEBYRANK', seen, 0, excess - 1) end
redis.call('HINCRBY', meta, 'events', applied)
redis.call('HINCRBY', meta, 'learned', nlearned)
redis.call('HINCRBY', meta, 'duplicates', dup)
redis.call('HINCRBY', meta, 'before_start', before)
redis.call('HINCRBY', meta, 'overflow', overflow)
for k = 1, 9 do redis.call('EXPIRE', KEYS[k], ttl) end
return {applied, nlearned, dup, before, overflow}
`;

/**
 * KEYS: meta index  ARGV: sid project agent('' for all) started_ms started_at ttl_s
 * Returns 1 when created, 0 when the session already existed (start is idempotent).
 */
export const START_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SADD', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'project', ARGV[2], 'agent', ARGV[3], 'started_ms', ARGV[4], 'started_at', ARGV[5],
  'events', 0, 'learned', 0, 'duplicates', 0, 'before_start', 0, 'overflow', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;
