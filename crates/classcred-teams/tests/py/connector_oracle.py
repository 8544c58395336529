"""Microsoft's own Connector API routes as the serviceUrl ClassCred replies to.

Runs botbuilder's `aiohttp_channel_service_routes` with a `ChannelServiceHandler` subclass that
records what it got (each activity parsed by botbuilder into `botbuilder.schema.Activity`), under
`/_connector` on 127.0.0.1, plus two routes the library does not serve as Teams does:
- `POST /{tenant}/oauth2/v2.0/token` (Entra's client-credentials endpoint; records the form);
- `POST /_connector/v3/conversations` (create a personal conversation; the library's own create
  route is mounted at the base path and does not await its body);
- `GET /_connector/v3/conversations/{id}/pagedmembers` (the library's route ignores the query:
  this one reads `pageSize` and `continuationToken` as Teams does and answers botbuilder's own
  `TeamsPagedMembersResult`, two members per page, so paging is exercised).

Prints {"base": "http://127.0.0.1:PORT"} first, then one JSON line per recorded call. Exits
when stdin closes.
"""

import asyncio
import json
import sys

from aiohttp import web

from botbuilder.core import ChannelServiceHandler
from botbuilder.integration.aiohttp import aiohttp_channel_service_routes
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ResourceResponse,
)
from botbuilder.schema.teams import TeamsChannelAccount, TeamsPagedMembersResult
from botframework.connector.auth import (
    AuthenticationConfiguration,
    ClaimsIdentity,
    SimpleCredentialProvider,
)

MEMBERS = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
PAGE = 2


def emit(record):
    print(json.dumps(record), flush=True)


def activity_record(activity: Activity):
    return {
        "type": activity.type,
        "text": activity.text,
        "text_format": activity.text_format,
        "reply_to_id": activity.reply_to_id,
        "conversation_id": activity.conversation.id if activity.conversation else None,
        "serialized": activity.serialize(),
    }


class Recorder(ChannelServiceHandler):
    def __init__(self):
        super().__init__(SimpleCredentialProvider("", ""), AuthenticationConfiguration())
        self.count = 0

    async def _authenticate(self, auth_header):
        # The bearer token is ClassCred's (from the fake token endpoint): recorded, not validated.
        self.last_auth = auth_header
        return ClaimsIdentity({}, True)

    async def on_reply_to_activity(self, claims_identity, conversation_id, activity_id, activity):
        self.count += 1
        emit({"call": "reply", "auth": self.last_auth, "conversation_id": conversation_id,
              "activity_id": activity_id, "activity": activity_record(activity)})
        return ResourceResponse(id="reply-%d" % self.count)

    async def on_send_to_conversation(self, claims_identity, conversation_id, activity):
        self.count += 1
        emit({"call": "send", "auth": self.last_auth, "conversation_id": conversation_id,
              "activity": activity_record(activity)})
        return ResourceResponse(id="sent-%d" % self.count)

    async def on_get_conversation_members(self, claims_identity, conversation_id):
        emit({"call": "members", "auth": self.last_auth, "conversation_id": conversation_id})
        return [ChannelAccount().deserialize(m) for m in MEMBERS]


async def token(request: web.Request):
    form = await request.post()
    emit({"call": "token", "tenant": request.match_info["tenant"],
          "form": {k: form[k] for k in form if k != "client_secret"},
          "has_secret": bool(form.get("client_secret"))})
    return web.json_response({"token_type": "Bearer", "expires_in": 3599,
                              "access_token": "fake-access-token"})


async def create_conversation(request: web.Request):
    raw = await request.json()
    params = ConversationParameters().deserialize(raw)
    member = params.members[0].id if params.members else ""
    # botbuilder-python maps tenant_id to "tenantID"; Teams documents "tenantId" and
    # channelData.tenant.id: both are recorded as sent.
    emit({"call": "create_conversation", "auth": request.headers.get("Authorization"),
          "bot": params.bot.id if params.bot else None, "member": member,
          "tenant_id": raw.get("tenantId"),
          "channel_data_tenant": ((params.channel_data or {}).get("tenant") or {}).get("id"),
          "is_group": params.is_group})
    return web.json_response({"id": "a:personal-" + member, "activityId": None})


async def paged_members(request: web.Request):
    token = request.query.get("continuationToken")
    start = int(token.split("-")[1]) if token else 0
    following = start + PAGE
    result = TeamsPagedMembersResult(
        members=[TeamsChannelAccount().deserialize(m) for m in MEMBERS[start:following]],
        continuation_token=("after-%d" % following) if following < len(MEMBERS) else None,
    )
    emit({"call": "members", "auth": request.headers.get("Authorization"),
          "conversation_id": request.match_info["conversation_id"],
          "page_size": request.query.get("pageSize"), "continuation_token": token})
    return web.json_response(result.serialize())


async def main():
    app = web.Application()
    app.router.add_post("/_connector/v3/conversations", create_conversation)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
    app.router.add_get("/_connector/v3/conversations/{conversation_id}/pagedmembers", paged_members)
    app.router.add_routes(aiohttp_channel_service_routes(Recorder(), "/_connector"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    emit({"base": "http://127.0.0.1:%d" % port})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


asyncio.run(main())
