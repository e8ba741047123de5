-- GET of the URL wrk is given, reported as signed.lua reports (throughput,
-- p50/p99, errors), so bare and signed rows read alike: its done() is
-- signed.lua's, which does nothing else unless wrk is given a request file.
dofile("bench/wrk/signed.lua")
request = nil
init = nil
delay = nil
