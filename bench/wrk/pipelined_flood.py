#!/usr/bin/env python3
# The pipelined flood of bench/pipelined-flood.sh: CONNS connections each send
# PIPE pipelined GET /v1/villages/VILLAGE/entries and read nothing; a normal
# client asks /healthz every 0.25 s for SECONDS; then /metrics says how many
# entries pages were rendered for the flood.
#   pipelined_flood.py PORT [CONNS] [PIPE] [SECONDS] [VILLAGE]
import re, socket, sys, time, urllib.request

port = int(sys.argv[1])
conns = int(sys.argv[2]) if len(sys.argv) > 2 else 256
pipe = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10
village = sys.argv[5] if len(sys.argv) > 5 else "shuangjiang"

req = f"GET /v1/villages/{village}/entries HTTP/1.1\r\nHost: x\r\n\r\n".encode() * pipe
one = urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/villages/{village}/entries").read()
print(f"entries page: {len(one)} bytes")
socks = []
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    try:
        s.send(req)
    except BlockingIOError:
        pass
    socks.append(s)
start = time.monotonic()
lat = []
while time.monotonic() - start < seconds:
    t = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read()
        lat.append(time.monotonic() - t)
    except Exception:
        lat.append(float("inf"))
    time.sleep(max(0, 0.25 - (time.monotonic() - t)))
m = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
# Less the one page fetched above to print its size.
rendered = -1 + sum(int(float(v)) for v in re.findall(r'http_requests_total\{route="/v1/villages/\{id\}/entries",status="200"\} (\S+)', m))
shed = sum(int(float(v)) for v in re.findall(r'http_requests_total\{route="/v1/villages/\{id\}/entries",status="503"\} (\S+)', m))
lat_sorted = sorted(lat)
print("healthz latencies (s), in order:", " ".join(f"{l:.3f}" for l in lat))
print(f"{conns} connections x {pipe} pipelined entries GETs, nothing read")
print(f"healthz over {seconds:.0f} s: n={len(lat)} max={max(lat):.3f} s p50={lat_sorted[len(lat)//2]:.4f} s"
      f" over 1 s: {sum(1 for l in lat if l > 1)} over 0.1 s: {sum(1 for l in lat if l > 0.1)}")
print(f"entries pages rendered: {rendered} (200), {shed} shed (503)")
for s in socks:
    s.close()
