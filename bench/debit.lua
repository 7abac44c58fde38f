-- wrk script for bench/debit.sh: POST /api/v1/internal/credits/use, each
-- request for one of N users picked at random (user ids PREFIX1..PREFIXN).
-- usage: wrk ... -s bench/debit.lua URL -- SERVICE_KEY PREFIX N [OPERATION]

local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  local key, prefix, n, op = args[1], args[2], tonumber(args[3]), args[4] or "bench"
  if key == nil or prefix == nil or n == nil or n < 1 then
    error("usage: -- SERVICE_KEY PREFIX N [OPERATION]")
  end
  -- Each thread its own sequence (LuaJIT's default seed is fixed).
  math.randomseed((tid or 1) * 7919 + os.time())
  reqs, nreqs = {}, n
  local headers = { ["Content-Type"] = "application/json", ["X-Service-Key"] = key }
  for i = 1, n do
    local body = string.format('{"user_id":"%s%d","amount":1,"operation":"%s"}',
      prefix, i, op)
    reqs[i] = wrk.format("POST", "/api/v1/internal/credits/use", headers, body)
  end
end

function request()
  return reqs[math.random(nreqs)]
end
