"""The Lua scripts behind lobby.store: each runs atomically in Redis and touches only the keys
it is given (all under one hash tag), so they run unchanged on Redis Cluster."""

JOIN = """
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid then return {'busy', mid} end
local cd = tonumber(redis.call('HGET', KEYS[5], user) or '0')
if cd > tonumber(ARGV[5]) then return {'cooldown', tostring(cd)} end
local old = redis.call('HGET', KEYS[1], user)
if old then
  local t = cjson.decode(old)
  if redis.call('ZREM', KEYS[2], t.ix) == 1 then
    if redis.call('HINCRBY', KEYS[3], t.bucket, -1) <= 0 then
      redis.call('HDEL', KEYS[3], t.bucket)
    end
  end
end
redis.call('HSET', KEYS[1], user, ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
local n = redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
local pos = redis.call('ZLEXCOUNT', KEYS[2], '[' .. ARGV[4], '(' .. ARGV[3])
return {'queued', tostring(pos), tostring(n)}
"""

LEAVE = """
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid and redis.call('HEXISTS', KEYS[5], mid) == 1 then return {'pending', mid} end
local old = redis.call('HGET', KEYS[1], user)
if not old then return {'none'} end
local t = cjson.decode(old)
if redis.call('ZREM', KEYS[2], t.ix) == 1 then
  if redis.call('HINCRBY', KEYS[3], t.bucket, -1) <= 0 then
    redis.call('HDEL', KEYS[3], t.bucket)
  end
end
redis.call('HDEL', KEYS[1], user)
return {'left', t.bucket}
"""

# ARGV: now, then per pairing: a, a_member, b, b_member, bucket, match id, match JSON, deadline,
# cooldown-until. A pairing is committed only if both index entries are exactly as the
# snapshot saw them, neither person is in a match, and the pair is not in its cooldown.
PROPOSE = """
local now = tonumber(ARGV[1])
local out = {}
local function recent_ok(a, b)
  local r = redis.call('HGET', KEYS[7], a)
  if not r then return true end
  local until_ = cjson.decode(r)[b]
  return (not until_) or tonumber(until_) <= now
end
local function remember(a, b, until_)
  local r = redis.call('HGET', KEYS[7], a)
  local m = r and cjson.decode(r) or {}
  local kept = {}
  for k, v in pairs(m) do if tonumber(v) > now then kept[k] = v end end
  kept[b] = until_
  redis.call('HSET', KEYS[7], a, cjson.encode(kept))
end
for i = 2, #ARGV, 9 do
  local a, am, b, bm, bucket = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local id = ARGV[i+5]
  if redis.call('ZSCORE', KEYS[2], am) and redis.call('ZSCORE', KEYS[2], bm)
     and redis.call('HEXISTS', KEYS[4], a) == 0 and redis.call('HEXISTS', KEYS[4], b) == 0
     and recent_ok(a, b) and recent_ok(b, a) then
    redis.call('ZREM', KEYS[2], am, bm)
    if redis.call('HINCRBY', KEYS[3], bucket, -2) <= 0 then redis.call('HDEL', KEYS[3], bucket) end
    redis.call('HSET', KEYS[4], a, id, b, id)
    redis.call('HSET', KEYS[5], id, ARGV[i+6])
    redis.call('ZADD', KEYS[6], ARGV[i+7], id)
    remember(a, b, ARGV[i+8])
    remember(b, a, ARGV[i+8])
    out[#out+1] = id
  end
end
return out
"""

# ARGV: id, expected version, kind, match JSON, then counted lists:
#   n, requeued (user, ticket JSON, member, bucket)*, n, dropped users*
SETTLE = """
local id, kind = ARGV[1], ARGV[3]
local cur = redis.call('HGET', KEYS[1], id)
if not cur then return 'gone' end
local m = cjson.decode(cur)
if tostring(m.version) ~= ARGV[2] then return 'conflict' end
if kind == 'updated' then
  redis.call('HSET', KEYS[1], id, ARGV[4])
  local new = cjson.decode(ARGV[4])
  redis.call('ZADD', KEYS[3], new.expires_at, id)
  return 'ok'
end
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[3], id)
if kind == 'started' then
  redis.call('HSET', KEYS[7], id, ARGV[4])
  redis.call('HSET', KEYS[8], m.room, id)
  for _, u in ipairs(m.users) do redis.call('HDEL', KEYS[4], u) end
  return 'ok'
end
for _, u in ipairs(m.users) do
  if redis.call('HGET', KEYS[2], u) == id then redis.call('HDEL', KEYS[2], u) end
end
local i = 5
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local u, t, mem, b = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3]
  i = i + 4
  redis.call('HSET', KEYS[4], u, t)
  redis.call('ZADD', KEYS[5], 0, mem)
  redis.call('HINCRBY', KEYS[6], b, 1)
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HDEL', KEYS[4], ARGV[i]); i = i + 1 end
return 'ok'
"""

FINISH_ROOM = """
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return 0 end
local cur = redis.call('HGET', KEYS[2], id)
if cur then
  for _, u in ipairs(cjson.decode(cur).users) do
    if redis.call('HGET', KEYS[3], u) == id then redis.call('HDEL', KEYS[3], u) end
  end
end
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""

MARK_LIVE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# ARGV: user, now, window, penalty-after-count table is applied in Python (decline_penalty).
DECLINE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local now = tonumber(ARGV[2])
local count, since = 0, now
if raw then
  local sep = string.find(raw, '|', 1, true)
  count, since = tonumber(string.sub(raw, 1, sep - 1)), tonumber(string.sub(raw, sep + 1))
  if now - since > tonumber(ARGV[3]) then count, since = 0, now end
end
count = count + 1
redis.call('HSET', KEYS[1], ARGV[1], count .. '|' .. since)
return count
"""
