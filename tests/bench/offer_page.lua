-- wrk script for bench_launch.sh's page views: GET the launch's offer page
-- through b4-gateway, each request from its own client address (the load
-- balancer's X-Forwarded-For), as a crowd of buyers would load it.
local n = 0

request = function()
  n = n + 1
  local addr = string.format("10.%d.%d.%d", n % 200 + 1, math.floor(n / 200) % 250, math.floor(n / 50000) % 250)
  return wrk.format("GET", "/checkout/v1/offers/DEMOOFFER1", { ["X-Forwarded-For"] = addr })
end
