"""The Lua scripts behind lobby.store: each runs atomically in Redis and touches only the keys
it is given (all under one hash tag), so they run unchanged on Redis Cluster."""

# A ticket's index member starts with its bucket, "topic␟format␟" (lobby.codec.member).
_BUCKET = "'^[^\\031]*\\031[^\\031]*\\031'"

# ARGV: user, member, bucket, now. The queue hash holds each ticket's member, so a rejoin
# removes the old entry (and counts it out of its bucket) without decoding anything. KEYS[5]
# is the user's strikes, "until|count" (LobbyStore.note_strike): no join before `until`.
JOIN = f"""
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid then return {{'busy', mid}} end
local cd = tonumber(string.match(redis.call('GET', KEYS[5]) or '0', '^[^|]*'))
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

# ARGV: now, cooldown-until, accept deadline (the same for the whole batch), the batch: one
# string of fields each ended by RS (\x1e, never in a user id, index member or JSON text), per
# pairing: a, a's member, b, b's member, match id, match JSON. One string instead of 6
# arguments per pairing keeps the client's command encoding cheap, and plain searches split it
# cheaply. A pairing is committed only if both index members are exactly as the snapshot saw
# them, neither person is in an earlier pairing of this call, and the pair is not in its
# cooldown. Nobody whose member is in the index is in a match: every script that sets matchOf
# removes the user's member from the index, and a member comes back (SETTLE) only after matchOf
# is cleared, so the index check also keeps a matched person out. All reads come first (one
# command per key for the whole batch), then all writes; returns the ids committed. The queue
# hash is not touched: it keeps both members, held by the match until it settles.
PROPOSE = f"""
local now, until_, deadline = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local STEP = 500
local unpack, find, sub = unpack, string.find, string.sub
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
-- Split the batch: users[x], members[x] for x = 2k-1 (a) and 2k (b); ids[k], json[k].
local users, members, ids, json, n, batch, at = {{}}, {{}}, {{}}, {{}}, 0, ARGV[4], 1
while true do
  local s1 = find(batch, '\\030', at, true)
  if not s1 then break end
  local s2 = find(batch, '\\030', s1 + 1, true)
  local s3 = find(batch, '\\030', s2 + 1, true)
  local s4 = find(batch, '\\030', s3 + 1, true)
  local s5 = find(batch, '\\030', s4 + 1, true)
  local s6 = find(batch, '\\030', s5 + 1, true)
  n = n + 1
  local x = 2 * n
  users[x - 1], members[x - 1] = sub(batch, at, s1 - 1), sub(batch, s1 + 1, s2 - 1)
  users[x], members[x] = sub(batch, s2 + 1, s3 - 1), sub(batch, s3 + 1, s4 - 1)
  ids[n], json[n] = sub(batch, s4 + 1, s5 - 1), sub(batch, s5 + 1, s6 - 1)
  at = s6 + 1
end
if n == 0 then return {{}} end
local score = fetch('ZMSCORE', KEYS[1], members)
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
local deadlines, cooldown, counts, c = {{}}, {{}}, {{}}, 0
for k = 1, n do
  local x = 2 * k
  local a, b, id = users[x - 1], users[x], ids[k]
  if score[x - 1] and score[x] and not taken[a] and not taken[b]
     and cooled(x - 1, b) and cooled(x, a) then
    taken[a], taken[b] = true, true
    local bucket = string.match(members[x], {_BUCKET})
    counts[bucket] = (counts[bucket] or 0) + 2
    c = c + 1
    local two, four = 2 * c, 4 * c
    gone[two - 1], gone[two] = members[x - 1], members[x]
    owner[four - 3], owner[four - 2], owner[four - 1], owner[four] = a, id, b, id
    pending[two - 1], pending[two] = id, json[k]
    deadlines[two - 1], deadlines[two] = deadline, id
    cooldown[four - 3], cooldown[four - 2] = a, remember(x - 1, b)
    cooldown[four - 1], cooldown[four] = b, remember(x, a)
    out[c] = id
  end
end
if c == 0 then return out end
write('ZREM', KEYS[1], gone)
for bucket, k in pairs(counts) do
  if redis.call('HINCRBY', KEYS[2], bucket, -k) <= 0 then redis.call('HDEL', KEYS[2], bucket) end
end
write('HSET', KEYS[3], owner)
write('HSET', KEYS[4], pending)
write('ZADD', KEYS[5], deadlines)
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

# KEYS: flooding:<user>, lobbyUser:<identity>, lobbyIdentity:<user>, lobbyShard:<user>.
# ARGV: user, identity, ttl, shard. A new lobby identity for the user, seated in that lobby
# shard, unless the user is kept out for flooding: then the seconds left, and nothing is
# written.
ISSUE_IDENTITY = """
local banned = redis.call('TTL', KEYS[1])
if banned > 0 then return banned end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[3])
return 0
"""

RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# KEYS: the hash to prune (recent, matchOf or rooms), pendingMatches, activeMatches.
# ARGV: which hash it is, HSCAN cursor, now, page size. One page: removes `recent` entries
# whose cooldowns have all run out (the JSON is {partner: until}), `matchOf` entries (user ->
# match id) whose match is neither pending nor active, and `rooms` entries (room -> match id)
# whose match is not active. Returns the next cursor ("0": done) and how many were removed.
PRUNE = """
local kind, now = ARGV[1], tonumber(ARGV[3])
local page = redis.call('HSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[4])
local items, removed = page[2], 0
for i = 1, #items, 2 do
  local field, value, stale = items[i], items[i + 1], false
  if kind == 'recent' then
    stale = true
    for _, u in pairs(cjson.decode(value)) do
      if tonumber(u) > now then stale = false end
    end
  elseif kind == 'matchOf' then
    stale = redis.call('HEXISTS', KEYS[2], value) == 0
      and redis.call('HEXISTS', KEYS[3], value) == 0
  else
    stale = redis.call('HEXISTS', KEYS[3], value) == 0
  end
  if stale then
    redis.call('HDEL', KEYS[1], field)
    removed = removed + 1
  end
end
return {page[1], removed}
"""
