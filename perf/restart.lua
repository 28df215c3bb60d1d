-- wrk script for perf/restart.sh: GETs over ZIPF_KEYS distinct keys (default 100000) with Zipf
-- popularity (exponent ZIPF_S, default 0.9). Unlike perf/zipf.lua, the keys are drawn afresh
-- from a seed (ZIPF_SEED) into a ring of key numbers (ZIPF_RING, default 262144), so that a
-- run sees the long tail and not a few thousand replayed keys; the same seed replays the same
-- traffic (restart.sh runs slice i before and after the restart with seed i).
local keys = tonumber(os.getenv("ZIPF_KEYS") or "100000")
local s = tonumber(os.getenv("ZIPF_S") or "0.9")
local seed = tonumber(os.getenv("ZIPF_SEED") or "1")
local ring_size = tonumber(os.getenv("ZIPF_RING") or "262144")
local prefix = os.getenv("ZIPF_PATH") or "/v3/items?cc=max-age%3D3600&size=1024&item="
local ring, pos = {}, 0
local thread_seed = 0

function setup(thread)
  thread_seed = thread_seed + 1
  thread:set("thread_seed", thread_seed)
end

function init(args)
  local cdf, total = {}, 0
  for k = 1, keys do
    total = total + 1 / k ^ s
    cdf[k] = total
  end
  math.randomseed(seed * 1000 + (thread_seed or 0))
  for i = 1, ring_size do
    local u, lo, hi = math.random() * total, 1, keys
    while lo < hi do -- the first key whose cumulative weight reaches u
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
    end
    ring[i] = lo
  end
end

function request()
  pos = pos % ring_size + 1
  return wrk.format("GET", prefix .. ring[pos])
end
