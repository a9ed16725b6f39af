-- wrk script for tools/bench/flask_server.py: POST /predict with the same
-- 168-point hourly history and 24-step horizon that gridcast-loadgen
-- sends, then one tab-separated line of results for the benchmark script.
local points = 168
local start = 1704067200
local timestamps, values = {}, {}
for i = 0, points - 1 do
  timestamps[#timestamps + 1] = tostring(start + i * 3600)
  values[#values + 1] = string.format("%.6f",
      100 + 20 * math.sin(2 * math.pi * (i % 24) / 24))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"timestamps":[' .. table.concat(timestamps, ",") ..
    '],"values":[' .. table.concat(values, ",") .. '],"horizon":24}'

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read +
      summary.errors.write + summary.errors.status + summary.errors.timeout
  local seconds = summary.duration / 1e6
  -- calls qps p50 p90 p99 p99.9 max (ms) errors
  io.write(string.format("WRK\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\n",
      summary.requests - errors, (summary.requests - errors) / seconds,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
      latency.max / 1000, errors))
end
