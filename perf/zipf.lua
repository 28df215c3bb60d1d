-- wrk script for perf/compare.sh: GETs spread over ZIPF_KEYS distinct keys (default 10000) with
-- Zipf popularity (exponent ZIPF_S, default 1.0): key k is asked for in proportion to 1/k^s.
-- The sequence is drawn once per wrk thread with a fixed seed, so every server sees the same one;
-- it is a ring of 65536 requests, replayed from the start when it runs out.
--   wrk -t1 -c64 -d8s -s perf/zipf.lua http://127.0.0.1:PORT/
local keys = tonumber(os.getenv("ZIPF_KEYS") or "10000")
local s = tonumber(os.getenv("ZIPF_S") or "1.0")
local prefix = os.getenv("ZIPF_PATH") or "/v3/listings?limit=5&size=1024&item="
local ring_size = 65536
local ring, pos = {}, 0

function init(args)
  local cdf, total = {}, 0
  for k = 1, keys do
    total = total + 1 / k ^ s
    cdf[k] = total
  end
  math.randomseed(42)
  for i = 1, ring_size do
    local u, lo, hi = math.random() * total, 1, keys
    while lo < hi do -- the first key whose cumulative weight reaches u
      local mid = math.floor((lo + hi) / 2)
      if cdf[mid] < u then lo = mid + 1 else hi = mid end
    end
    ring[i] = wrk.format("GET", prefix .. lo)
  end
end

function request()
  pos = pos % ring_size + 1
  return ring[pos]
end
