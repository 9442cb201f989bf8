-- wrk script for bench_launch.sh's page views: GET the launch's offer page
-- through b4-gateway, each request from its own client address (the load
-- balancer's X-Forwarded-For), as a crowd of buyers would load it.
-- BENCH_PAGE_CODE asks for another code: one without an offer is a launch
-- link with a typo (every answer a 404).
local n = 0
local path = "/checkout/v1/offers/" .. (os.getenv("BENCH_PAGE_CODE") or "DEMOOFFER1")

request = function()
  n = n + 1
  local addr = string.format("10.%d.%d.%d", n % 200 + 1, math.floor(n / 200) % 250, math.floor(n / 50000) % 250)
  return wrk.format("GET", path, { ["X-Forwarded-For"] = addr })
end
