"""The Lua scripts behind lobby.store: each runs atomically in Redis and touches only the keys
it is given (all under one hash tag), so they run unchanged on Redis Cluster."""

# A ticket's index member starts with its bucket, "topic␟format␟" (see Ticket.member).
_BUCKET = "'^[^\\031]*\\031[^\\031]*\\031'"

# ARGV: user, member, bucket, now. The queue hash holds each ticket's member, so a rejoin
# removes the old entry (and counts it out of its bucket) without decoding anything.
JOIN = f"""
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid then return {{'busy', mid}} end
local cd = tonumber(redis.call('HGET', KEYS[5], user) or '0')
if cd > tonumber(ARGV[4]) then return {{'cooldown', tostring(cd)}} end
local old = redis.call('HGET', KEYS[1], user)
if old and redis.call('ZREM', KEYS[2], old) == 1 then
  local bucket = string.match(old, {_BUCKET})
  if redis.call('HINCRBY', KEYS[3], bucket, -1) <= 0 then redis.call('HDEL', KEYS[3], bucket) end
end
redis.call('HSET', KEYS[1], user, ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
local n = redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
local pos = redis.call('ZLEXCOUNT', KEYS[2], '[' .. ARGV[3], '(' .. ARGV[2])
return {{'queued', tostring(pos), tostring(n)}}
"""

LEAVE = f"""
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid and redis.call('HEXISTS', KEYS[5], mid) == 1 then return {{'pending', mid}} end
local old = redis.call('HGET', KEYS[1], user)
if not old then return {{'none'}} end
local bucket = string.match(old, {_BUCKET})
if redis.call('ZREM', KEYS[2], old) == 1 then
  if redis.call('HINCRBY', KEYS[3], bucket, -1) <= 0 then redis.call('HDEL', KEYS[3], bucket) end
end
redis.call('HDEL', KEYS[1], user)
return {{'left', bucket}}
"""

# ARGV: limit, then buckets. The head of each of these topic/format indexes and each entry's
# rematch cooldowns (JSON, or nil), in one call: read-only, a snapshot, not a lock. The user
# is the member's fourth field, found with plain searches: the bucket is known and the rank
# has fixed width.
SNAPSHOT = """
local limit, found, users = ARGV[1], {}, {}
for b = 2, #ARGV do
  local bucket = ARGV[b]
  local head = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. bucket, '[' .. bucket .. '\\255',
                          'LIMIT', 0, limit)
  local from = #bucket + 18
  for i = 1, #head do
    local m = head[i]
    local n = #found + 1
    found[n] = m
    users[n] = string.sub(m, from, string.find(m, '\\031', from, true) - 1)
  end
end
if #found == 0 then return {{}, {}} end
local recent = {}
for s = 1, #users, 500 do
  local r = redis.call('HMGET', KEYS[2], unpack(users, s, math.min(#users, s + 499)))
  for j = 1, #r do recent[s + j - 1] = r[j] end
end
return {found, recent}
"""

# ARGV: now, cooldown-until, the batch: one string of fields each ended by RS (\x1e, never in
# a user id, index member or JSON text), per pairing: a, a's member, b, b's member, match id,
# deadline, match JSON. One string instead of 7 arguments per pairing keeps the client's
# command encoding cheap, and plain searches split it cheaply. A pairing is committed only if both
# index members are exactly as the snapshot saw them, neither person is in a match (nor in an
# earlier pairing of this call), and the pair is not in its cooldown. All reads come first
# (one command per key for the whole batch), then all writes; returns the ids committed. The
# queue hash is not touched: it keeps both members, held by the match until it settles.
PROPOSE = f"""
local now, until_ = tonumber(ARGV[1]), ARGV[2]
local STEP = 500
local function fetch(cmd, key, items)
  local out, n = {{}}, 0
  for s = 1, #items, STEP do
    local r = redis.call(cmd, key, unpack(items, s, math.min(#items, s + STEP - 1)))
    for j = 1, #r do n = n + 1; out[n] = r[j] end
  end
  return out
end
local function write(cmd, key, items)
  for s = 1, #items, 2 * STEP do
    redis.call(cmd, key, unpack(items, s, math.min(#items, s + 2 * STEP - 1)))
  end
end
local f, nf, batch, at, find, sub = {{}}, 0, ARGV[3], 1, string.find, string.sub
while true do
  local stop = find(batch, '\\030', at, true)
  if not stop then break end
  nf = nf + 1; f[nf] = sub(batch, at, stop - 1)
  at = stop + 1
end
local users, members = {{}}, {{}}
for i = 1, nf - 6, 7 do
  local x = (i - 1) / 7 * 2 + 1
  users[x], users[x + 1], members[x], members[x + 1] = f[i], f[i + 2], f[i + 1], f[i + 3]
end
if #users == 0 then return {{}} end
local score = fetch('ZMSCORE', KEYS[1], members)
local busy = fetch('HMGET', KEYS[3], users)
local recent = fetch('HMGET', KEYS[6], users)
local function cooled(x, partner)
  local r = recent[x]
  if not r then return true end
  local u = cjson.decode(r)[partner]
  return (not u) or tonumber(u) <= now
end
local quoted_until = cjson.encode(until_)
local function remember(x, partner)
  if not recent[x] then return '{{' .. cjson.encode(partner) .. ':' .. quoted_until .. '}}' end
  local kept = {{}}
  for k, v in pairs(cjson.decode(recent[x])) do
    if tonumber(v) > now then kept[k] = v end
  end
  kept[partner] = until_
  return cjson.encode(kept)
end
-- c counts the pairings committed so far; the write lists are filled by index (cheaper
-- than appending with #t + 1, which searches for the table's end each time).
local taken, out, gone, owner, pending = {{}}, {{}}, {{}}, {{}}, {{}}
local deadline, cooldown, counts, c = {{}}, {{}}, {{}}, 0
for x = 1, #users, 2 do
  local i = 1 + (x - 1) / 2 * 7
  local a, b, id = users[x], users[x + 1], f[i + 4]
  if not taken[a] and not taken[b] and score[x] and score[x + 1]
     and not busy[x] and not busy[x + 1] and cooled(x, b) and cooled(x + 1, a) then
    taken[a], taken[b] = true, true
    local bucket = string.match(members[x], {_BUCKET})
    counts[bucket] = (counts[bucket] or 0) + 2
    c = c + 1
    local two, four = 2 * c, 4 * c
    gone[two - 1], gone[two] = members[x], members[x + 1]
    owner[four - 3], owner[four - 2], owner[four - 1], owner[four] = a, id, b, id
    pending[two - 1], pending[two] = id, f[i + 6]
    deadline[two - 1], deadline[two] = f[i + 5], id
    cooldown[four - 3], cooldown[four - 2] = a, remember(x, b)
    cooldown[four - 1], cooldown[four] = b, remember(x + 1, a)
    out[c] = id
  end
end
if c == 0 then return out end
write('ZREM', KEYS[1], gone)
for bucket, n in pairs(counts) do
  if redis.call('HINCRBY', KEYS[2], bucket, -n) <= 0 then redis.call('HDEL', KEYS[2], bucket) end
end
write('HSET', KEYS[3], owner)
write('HSET', KEYS[4], pending)
write('ZADD', KEYS[5], deadline)
write('HSET', KEYS[6], cooldown)
return out
"""

# ARGV: id, expected version, kind, match JSON, then counted lists:
#   n, requeued (user, member)*, n, dropped users*
SETTLE = f"""
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
  local u, mem = ARGV[i], ARGV[i + 1]
  i = i + 2
  redis.call('HSET', KEYS[4], u, mem)
  redis.call('ZADD', KEYS[5], 0, mem)
  redis.call('HINCRBY', KEYS[6], string.match(mem, {_BUCKET}), 1)
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
