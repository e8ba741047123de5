#!/usr/bin/env python3
"""Writes the Go peer's config (bench/peers/go-bot) from a Sunledger data folder.

Usage: peer_config.py SUNLEDGER_BIN DATA_DIR OUT_FILE
The peer gets the same secret, the same group bindings (`sunledger group list`)
and, for each bound village, the answer Sunledger itself renders to 账目 2022-11
(`sunledger ask`), so both servers send the same bytes for the same request.
"""
import json, subprocess, sys

binary, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
bot = json.load(open(data + "/bots.json"))["bots"][0]
groups, answers = {}, {}
for line in subprocess.run([binary, "--data", data, "group", "list"], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    village, bot_id, chat = line.split("\t")[:3]
    if bot_id != bot["id"]:
        continue
    groups[chat] = village
    text = subprocess.run([binary, "--data", data, "ask", "--bot", bot["id"], "--chat", chat, "--user", "villager-1",
                           "账目 2022-11"], capture_output=True, text=True, check=True).stdout
    answers.setdefault(village, {})["账目 2022-11"] = text
json.dump({"bot": bot["id"], "secret": bot["secret"], "groups": groups, "answers": answers}, open(out, "w"),
          ensure_ascii=False)
