"""Drives real Matrix clients (matrix-nio) against a local Synapse for ClassCred's end-to-end test.

Reads a program from stdin:
  {"hs": "http://127.0.0.1:PORT", "users": {"alice": "password", ...}, "server": "localtest",
   "vars": {"room": "!…"}, "steps": [{"op": ..., ...}, ...]}
and prints {"vars": {...}} with every step's result stored under its "label".

Ops (values starting with "$" are replaced by vars):
  create_room  as, name, invite[]            -> room id
  join         as, room
  send         as, room, text, mentions[], msgtype   -> event id (pills in formatted_body + m.mentions)
  react        as, room, event, key           -> event id
  edit         as, room, event, text, mentions[]     -> event id
  redact       as, room, event                -> event id
  wait_joined  as, room, user, timeout        (polls joined_members)
  wait_notice  as, room, sender, contains, after, timeout   -> the notice's body
  wait_reaction as, room, sender, event, key, timeout      (an annotation on event)
  mark                                       -> the current time in ms (for "after")
Exits non-zero with a message on any failure.
"""

import asyncio
import html
import json
import sys
import time
import urllib.parse
import urllib.request

from nio import AsyncClient, LoginResponse, RoomCreateResponse, RoomSendResponse
from nio import JoinResponse, RoomRedactResponse, RoomInviteResponse


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


class Driver:
    def __init__(self, prog):
        self.hs = prog["hs"]
        self.server = prog["server"]
        self.passwords = prog["users"]
        self.vars = dict(prog.get("vars", {}))
        self.clients = {}

    def uid(self, name):
        return name if name.startswith("@") else f"@{name}:{self.server}"

    def sub(self, v):
        if isinstance(v, str) and v.startswith("$") and v[1:] in self.vars:
            return self.vars[v[1:]]
        if isinstance(v, list):
            return [self.sub(x) for x in v]
        return v

    async def client(self, name):
        if name not in self.clients:
            c = AsyncClient(self.hs, self.uid(name))
            r = await c.login(self.passwords[name])
            if not isinstance(r, LoginResponse):
                fail(f"login {name}: {r}")
            self.clients[name] = c
        return self.clients[name]

    def get(self, name, path):
        token = self.clients[name].access_token
        req = urllib.request.Request(
            self.hs + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def content(self, text, mentions, msgtype="m.text"):
        users = [self.uid(m) for m in mentions]
        pills = " ".join(
            f'<a href="https://matrix.to/#/{urllib.parse.quote(u, safe="@:")}">{html.escape(u)}</a>'
            for u in users
        )
        return {
            "msgtype": msgtype,
            "body": text,
            "format": "org.matrix.custom.html",
            "formatted_body": (pills + " " + html.escape(text)).strip(),
            "m.mentions": {"user_ids": users},
        }

    async def send(self, name, room, content, kind="m.room.message"):
        c = await self.client(name)
        r = await c.room_send(room, kind, content, ignore_unverified_devices=True)
        if not isinstance(r, RoomSendResponse):
            fail(f"send as {name}: {r}")
        return r.event_id

    async def step(self, s):
        s = {k: self.sub(v) for k, v in s.items()}
        op, who = s["op"], s.get("as")
        if op == "mark":
            return str(int(time.time() * 1000) - 1000)
        c = await self.client(who)
        if op == "create_room":
            r = await c.room_create(
                name=s["name"], invite=[self.uid(u) for u in s.get("invite", [])]
            )
            if not isinstance(r, RoomCreateResponse):
                fail(f"create_room: {r}")
            return r.room_id
        if op == "invite":
            r = await c.room_invite(s["room"], self.uid(s["user"]))
            if not isinstance(r, RoomInviteResponse):
                fail(f"invite: {r}")
            return None
        if op == "join":
            r = await c.join(s["room"])
            if not isinstance(r, JoinResponse):
                fail(f"join as {who}: {r}")
            return r.room_id
        if op == "send":
            return await self.send(
                who,
                s["room"],
                self.content(s["text"], s.get("mentions", []), s.get("msgtype", "m.text")),
            )
        if op == "react":
            return await self.send(
                who,
                s["room"],
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": s["event"], "key": s["key"]}},
                kind="m.reaction",
            )
        if op == "edit":
            new = self.content(s["text"], s.get("mentions", []))
            body = dict(new)
            body["body"] = "* " + new["body"]
            body["formatted_body"] = "* " + new["formatted_body"]
            body["m.new_content"] = new
            body["m.relates_to"] = {"rel_type": "m.replace", "event_id": s["event"]}
            return await self.send(who, s["room"], body)
        if op == "redact":
            r = await c.room_redact(s["room"], s["event"])
            if not isinstance(r, RoomRedactResponse):
                fail(f"redact as {who}: {r}")
            return r.event_id
        if op == "wait_joined":
            deadline = time.time() + float(s.get("timeout", 60))
            room = urllib.parse.quote(s["room"], safe="")
            while time.time() < deadline:
                joined = self.get(who, f"/_matrix/client/v3/rooms/{room}/joined_members")
                if self.uid(s["user"]) in joined.get("joined", {}):
                    return True
                await asyncio.sleep(0.5)
            fail(f"{s['user']} did not join {s['room']}")
        if op == "wait_reaction":
            deadline = time.time() + float(s.get("timeout", 60))
            room = urllib.parse.quote(s["room"], safe="")
            while time.time() < deadline:
                page = self.get(who, f"/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100")
                for ev in page.get("chunk", []):
                    rel = ev.get("content", {}).get("m.relates_to", {})
                    if (
                        ev.get("type") == "m.reaction"
                        and ev.get("sender") == self.uid(s["sender"])
                        and rel.get("event_id") == s["event"]
                        and rel.get("key") == s["key"]
                    ):
                        return ev["event_id"]
                await asyncio.sleep(0.5)
            fail(f"no {s['key']} reaction from {s['sender']} on {s['event']}")
        if op == "wait_notice":
            deadline = time.time() + float(s.get("timeout", 60))
            room = urllib.parse.quote(s["room"], safe="")
            while time.time() < deadline:
                page = self.get(
                    who, f"/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100"
                )
                for ev in page.get("chunk", []):
                    content = ev.get("content", {})
                    if (
                        ev.get("type") == "m.room.message"
                        and ev.get("origin_server_ts", 0) >= int(s.get("after", 0))
                        and ev.get("sender") == self.uid(s["sender"])
                        and content.get("msgtype") == "m.notice"
                        and s["contains"] in content.get("body", "")
                    ):
                        if content.get("format") != "org.matrix.custom.html" or not content.get("formatted_body"):
                            fail("notice without HTML formatted_body")
                        return content["body"]
                await asyncio.sleep(0.5)
            fail(f"no notice containing {s['contains']!r} from {s['sender']}")
        fail(f"unknown op {op}")

    async def run(self, steps):
        try:
            for s in steps:
                out = await self.step(s)
                if "label" in s and out is not None:
                    self.vars[s["label"]] = out
        finally:
            for c in self.clients.values():
                await c.close()


def main():
    prog = json.load(sys.stdin)
    d = Driver(prog)
    asyncio.run(d.run(prog["steps"]))
    print(json.dumps({"vars": d.vars}))


if __name__ == "__main__":
    main()
