#!/usr/bin/env python3
"""Sends every pre-signed request of FILE one after another on one kept-alive connection.

Usage: send_sequential.py FILE PORT  (exits 1 unless every answer is 200)
"""
import http.client, sys

path, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
bad = 0
for line in open(path, encoding="utf-8"):
    mid, ts, sig, body = line.rstrip("\n").split("\t", 3)
    c.request("POST", "/webhooks/generic", body.encode(), {"webhook-id": mid, "webhook-timestamp": ts,
              "webhook-signature": "v1," + sig, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    bad += r.status != 200
if bad:
    print("%d answers were not 200" % bad)
    sys.exit(1)
