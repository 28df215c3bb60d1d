-- wrk script for perf/matrix.sh: GETs cycling uniformly over URL_KEYS distinct URLs (default
-- 10000), in order, a counter per wrk thread:
--   /v3/listings?id=<i>&size=<URL_SIZE>&cc=max-age%3D<URL_MAX_AGE>   (i = 1 .. URL_KEYS)
-- The same URLs as perf/matrix.sh's cache fill (curl ...?id=[1-URL_KEYS]&size=...&cc=...).
--   URL_SIZE=1024 wrk -t1 -c64 -d4s -s perf/urls.lua http://127.0.0.1:PORT/
local keys = tonumber(os.getenv("URL_KEYS") or "10000")
local size = os.getenv("URL_SIZE") or "1024"
local max_age = os.getenv("URL_MAX_AGE") or "3600"
local ring, pos = {}, 0

function init(args)
  for i = 1, keys do
    ring[i] = wrk.format("GET", "/v3/listings?id=" .. i .. "&size=" .. size .. "&cc=max-age%3D" .. max_age)
  end
end

function request()
  pos = pos % keys + 1
  return ring[pos]
end
