"""Microsoft's own JWT validator as the oracle for ClassCred's /teams/messages.

Serves an OpenID metadata document and a JWKS on 127.0.0.1 (from a thread: botframework-connector
fetches metadata with blocking `requests`), mints one token per case with PyJWT, asks
botframework-connector's `JwtTokenValidation.authenticate_request` for its verdict, and prints
one JSON line: {"metadata_url", "app_id", "cases": [{"name", "authorization", "activity",
"python_accepts", "python_error"}]}. Then it keeps serving the keys until stdin closes, so the
Rust side can validate the same tokens against the same keys.

Usage: python jwt_oracle.py <app_id>
"""

import asyncio
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticationConfiguration,
    ChannelValidation,
    JwtTokenValidation,
    SimpleCredentialProvider,
)

APP_ID = sys.argv[1]
SERVICE_URL = "https://smba.trafficmanager.net/amer/"
ISSUER = "https://api.botframework.com"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(private, kid, endorsements):
    d = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    d.update({"kid": kid, "use": "sig"})
    if endorsements is not None:
        d["endorsements"] = endorsements
    return d


TEAMS_KEY, SKYPE_KEY, BARE_KEY, ROGUE_KEY = new_key(), new_key(), new_key(), new_key()
JWKS = {
    "keys": [
        jwk(TEAMS_KEY, "teams-key", ["msteams", "webchat"]),
        jwk(SKYPE_KEY, "skype-key", ["skype"]),
        jwk(BARE_KEY, "bare-key", None),
    ]
}
STATE = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        base = STATE["base"]
        if self.path == "/v1/.well-known/openidconfiguration":
            body = {"issuer": ISSUER, "jwks_uri": base + "/v1/.well-known/keys",
                    "id_token_signing_alg_values_supported": ["RS256"]}
        elif self.path == "/v1/.well-known/keys":
            body = JWKS
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
STATE["base"] = "http://127.0.0.1:%d" % server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()
METADATA_URL = STATE["base"] + "/v1/.well-known/openidconfiguration"
ChannelValidation.open_id_metadata_endpoint = METADATA_URL


def claims(**over):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": APP_ID, "serviceurl": SERVICE_URL,
         "nbf": now - 60, "iat": now - 60, "exp": now + 3600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def token(key=TEAMS_KEY, kid="teams-key", alg="RS256", **over):
    return jwt.encode(claims(**over), key, algorithm=alg, headers={"kid": kid})


def activity(n):
    return {
        "type": "message",
        "id": "17000000000%02d" % n,
        "timestamp": "2026-12-01T08:00:00.000Z",
        "channelId": "msteams",
        "serviceUrl": SERVICE_URL,
        "from": {"id": "29:alice", "name": "Alice"},
        "recipient": {"id": "28:" + APP_ID, "name": "ClassCred"},
        "conversation": {"id": "19:general@thread.tacv2", "conversationType": "channel",
                         "tenantId": "tenant-1"},
        "text": "<at>Bob</at> thanks (fire)",
        "entities": [{"type": "mention", "mentioned": {"id": "29:bob", "name": "Bob"},
                      "text": "<at>Bob</at>"}],
        "channelData": {"team": {"id": "19:team-a@thread.tacv2"},
                        "channel": {"id": "19:general@thread.tacv2"},
                        "tenant": {"id": "tenant-1"}},
    }


now = int(time.time())
CASES = [
    ("valid", "Bearer " + token()),
    ("valid_rs512", "Bearer " + token(alg="RS512")),
    ("wrong_audience", "Bearer " + token(aud=str(uuid.uuid4()))),
    ("wrong_issuer", "Bearer " + token(iss="https://sts.example.com/")),
    ("expired_10_minutes", "Bearer " + token(exp=now - 600, iat=now - 4200, nbf=now - 4200)),
    ("expired_within_leeway", "Bearer " + token(exp=now - 200, iat=now - 3800, nbf=now - 3800)),
    ("not_yet_valid", "Bearer " + token(nbf=now + 900, iat=now)),
    ("no_header", None),
    ("not_bearer", "Basic " + token()),
    ("key_without_the_endorsement", "Bearer " + token(key=SKYPE_KEY, kid="skype-key")),
    ("serviceurl_mismatch", "Bearer " + token(serviceurl="https://evil.example/amer/")),
    ("signed_by_another_key", "Bearer " + token(key=ROGUE_KEY, kid="teams-key")),
    ("unknown_kid", "Bearer " + token(key=ROGUE_KEY, kid="rogue-key")),
    ("alg_none", "Bearer " + jwt.encode(claims(), None, algorithm="none", headers={"kid": "teams-key"})),
    ("key_with_no_endorsements", "Bearer " + token(key=BARE_KEY, kid="bare-key")),
]


async def verdict(auth, act):
    try:
        await JwtTokenValidation.authenticate_request(
            Activity().deserialize(act), auth or "",
            SimpleCredentialProvider(APP_ID, "password-not-used-here"),
            auth_configuration=AuthenticationConfiguration())
        return True, None
    except Exception as e:  # noqa: BLE001 - every refusal is a verdict
        return False, "%s: %s" % (type(e).__name__, e)


out = []
for i, (name, auth) in enumerate(CASES):
    act = activity(i)
    ok, err = asyncio.run(verdict(auth, act))
    out.append({"name": name, "authorization": auth, "activity": act,
                "python_accepts": ok, "python_error": err})

print(json.dumps({"metadata_url": METADATA_URL, "app_id": APP_ID, "cases": out}), flush=True)
sys.stdin.read()
server.shutdown()
