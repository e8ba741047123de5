#!/usr/bin/env python3
"""Writes pre-signed generic-webhook requests for wrk (LuaJIT has no HMAC).

Usage: make_requests.py BOTS_JSON OUT_FILE COUNT KIND [TAG]
TAG (default none) goes into every message id and posted line, so that files made in the same second for
two servers (bench/run-pg.sh nodes) hold no message and no line twice.
KIND: query (villagers asking 账目/余额/项目), statement (villagers asking 账目 2022-11
in the four villages that published it: the request issue #18 compares with the Go peer), post (an official's 记账, each a new
message id), mix (90% queries, 8% posts, 2% complaints, half filed in private chat and half in
the village group, whose receipts go privately through the bot's push_url).
One request per line: id TAB timestamp TAB signature TAB body.
"""
import base64, hashlib, hmac, json, random, sys, time

bots, out, count, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tag = sys.argv[5] if len(sys.argv) > 5 else ""
secret = base64.b64decode(json.load(open(bots))["bots"][0]["secret"][6:])
villages = ["shuangjiang", "zhuting", "nanzhou", "longchuan"]
queries = ["账目", "余额", "项目", "账目 2022-10", "明细 2022-11 支出"]
ts = str(int(time.time()))
rng = random.Random(7)
with open(out, "w") as f:
    for i in range(count):
        mid = "bench-%s%s-%d-%d" % (kind, tag, int(time.time()), i)
        roll = rng.random()
        if kind == "post" or (kind == "mix" and roll < 0.08):
            body = {"message_id": mid, "chat_id": "shuangjiang-group", "chat_type": "group",
                    "sender_id": "shuangjiang-secretary", "sender_name": "书记",
                    # Each line distinct (run and request): an identical line within
                    # 30 days is refused as a double post (issue #16).
                    "text": "记账 %s\n支出 办公费 %d 打印纸%s%s-%d" % (time.strftime("%Y-%m"), 10 + i % 500, tag, ts, i)}
        elif kind == "mix" and roll < 0.10:
            # Half in private chat, half in the village group: the bot has a
            # private channel, so a group filing sends its receipt privately.
            sender = "villager-%d" % rng.randrange(1000)
            in_group = roll < 0.09
            body = {"message_id": mid, "chat_id": "shuangjiang-group" if in_group else "dm-" + sender,
                    "chat_type": "group" if in_group else "private", "sender_id": sender, "sender_name": "村民",
                    "text": ("投诉 " if in_group else "投诉 双江村 ") + "第#25条村道拓宽工程款用了水利专项资金,请核查(%d)" % i}
        elif kind == "statement":
            body = {"message_id": mid, "chat_id": rng.choice(villages) + "-group", "chat_type": "group",
                    "sender_id": "villager-%d" % rng.randrange(1000), "sender_name": "村民", "text": "账目 2022-11"}
        else:
            # One household, one village group (as in Lukou): villager-N
            # always asks in the same village's group.
            n = rng.randrange(1000)
            body = {"message_id": mid, "chat_id": villages[n % len(villages)] + "-group", "chat_type": "group",
                    "sender_id": "villager-%d" % n, "sender_name": "村民",
                    "text": rng.choice(queries)}
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        sig = base64.b64encode(hmac.new(secret, (mid + "." + ts + "." + raw).encode(), hashlib.sha256).digest()).decode()
        f.write("%s\t%s\t%s\t%s\n" % (mid, ts, sig, raw))  # json.dumps never writes a raw newline
