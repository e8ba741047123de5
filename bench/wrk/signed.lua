-- Replays pre-signed Standard Webhooks requests (see make_requests.py), each
-- thread walking its own share of the file, and reports p50/p99 at the end.
-- Arguments after `--`: FILE THREADS [RATE CONNECTIONS]. With a RATE
-- (requests/s for the whole run), each connection waits a random pause
-- averaging CONNECTIONS/RATE seconds between requests, so the server is
-- measured at that load instead of flat out. The pause does not count the
-- time of the answer itself, so the measured rate lands a little under RATE.
local requests = {}
local counter = 0
local next_id = 0
local mean_pause_ms = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local path = args[1]
  local threads = tonumber(args[2]) or 1
  local me = id or 0
  local rate, conns = tonumber(args[3]), tonumber(args[4])
  if rate and conns and rate > 0 then mean_pause_ms = conns * 1000 / rate end
  math.randomseed(me + 1)
  local i = 0
  for line in io.lines(path) do
    if i % threads == me then
      local id, ts, sig, body = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)")
      requests[#requests + 1] = wrk.format("POST", "/webhooks/generic", {
        ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = "v1," .. sig,
        ["Content-Type"] = "application/json"}, body)
    end
    i = i + 1
  end
end

function delay()
  -- Uniform on [0, 2*mean]: the same mean, without every connection in step.
  return math.random() * 2 * mean_pause_ms
end

function request()
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return requests[counter]
end

function done(summary, latency, requests)
  io.write(string.format("requests %d, errors connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  io.write(string.format("throughput %.0f req/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
