-- wrk script of the benchmark harness: sends requests drawn at random from a file of
-- lines "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty), with the headers given in the
-- environment (BENCH_HEADERS: "Name: value" pairs separated by "|"), and prints the
-- figures as one JSON line that the harness reads.

local requests = {}
local headers = {}

local function split_tabs(text)
  local parts, start = {}, 1
  while true do
    local tab = string.find(text, "\t", start, true)
    if not tab then
      table.insert(parts, string.sub(text, start))
      return parts
    end
    table.insert(parts, string.sub(text, start, tab - 1))
    start = tab + 1
  end
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  local header_text = os.getenv("BENCH_HEADERS") or ""
  for pair in string.gmatch(header_text, "[^|]+") do
    local name, value = string.match(pair, "^%s*([^:]+):%s*(.*)$")
    headers[name] = value
  end
  headers["Content-Type"] = "application/json"
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local fields = split_tabs(line)
    local method, path, body = fields[1], fields[2], fields[3]
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
