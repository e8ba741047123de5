#!/usr/bin/env python3
"""Sends the first pre-signed request of FILE to two servers and checks they answer alike.

Usage: same_answer.py FILE PORT_A PORT_B  (exits 1 when the answers differ)
"""
import http.client, sys

path, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mid, ts, sig, body = open(path, encoding="utf-8").readline().rstrip("\n").split("\t", 3)
answers = []
for port in (a, b):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/webhooks/generic", body.encode(), {"webhook-id": mid, "webhook-timestamp": ts,
              "webhook-signature": "v1," + sig, "Content-Type": "application/json"})
    r = c.getresponse()
    answers.append((r.status, r.read()))
if answers[0] != answers[1]:
    print("the two servers answer differently:\n%r\n%r" % (answers[0], answers[1]))
    sys.exit(1)
print("same answer from both (%d bytes, status %d)" % (len(answers[0][1]), answers[0][0]))
