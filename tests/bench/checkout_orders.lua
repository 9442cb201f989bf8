-- wrk script: POST /v1/orders, card, one new Idempotency-Key and one new
-- buyer (valid CPF, own email) per request, so every request is a real
-- order: idempotency claim, tx1, the acquirer call, tx2, stored response.
-- Card tokens are single use: BENCH_CARD_TOKENS names a file of fresh
-- tokens, one a line; the threads take them in turn (thread k uses lines
-- k, k + threads, ...), so every order has its own.  When they run out,
-- orders are refused (counted as errors): make more.
local tokens = {}
for line in io.lines(os.getenv("BENCH_CARD_TOKENS")) do
	tokens[#tokens + 1] = line
end
local nthreads = 2 -- wrk -t2
-- "/checkout" when the requests go through b4-gateway
local prefix = os.getenv("BENCH_PATH_PREFIX") or ""
local counter = 0
thread_id = 0 -- set per thread by setup()
local threads = {}

function setup(thread)
	thread:set("thread_id", #threads + 1)
	table.insert(threads, thread)
end

local function cpf(n)
	local d = {}
	for i = 9, 1, -1 do
		d[i] = n % 10
		n = math.floor(n / 10)
	end
	if d[1] == d[2] then d[2] = (d[2] + 1) % 10 end
	local s = 0
	for i = 1, 9 do s = s + d[i] * (11 - i) end
	d[10] = (s * 10) % 11 % 10
	s = 0
	for i = 1, 10 do s = s + d[i] * (12 - i) end
	d[11] = (s * 10) % 11 % 10
	return table.concat(d)
end

function request()
	counter = counter + 1
	local n = thread_id * 10000000 + counter
	local token = tokens[((counter - 1) * nthreads + thread_id - 1) % #tokens + 1]
	local body = string.format(
		'{"offer_code":"DEMOOFFER1","customer":{"full_name":"Bench Buyer",' ..
		'"email":"bench-%d@example.com","document":"%s","phone":"11987654321"},' ..
		'"payment":{"method":"card","card_token":"%s","installments":3}}',
		n, cpf(n), token)
	return wrk.format("POST", prefix .. "/v1/orders", {
		["Content-Type"] = "application/json",
		["Idempotency-Key"] = string.format("bench-%d-%d", os.time(), n),
	}, body)
end

local statuses = {}
function response(status)
	statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
	io.write(string.format("orders/s %.1f  p50 %.2f ms  p99 %.2f ms  errors %d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.errors.status + summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout))
end
