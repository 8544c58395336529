"""Signing oracle for classcred-slack's tests, using Slack's official Python SDK (slack_sdk).

Reads one JSON request on stdin:
  {"secret": str, "now": int,
   "sign":   [{"timestamp": str, "body_b64": str}, ...],
   "verify": [{"timestamp": str|null, "signature": str|null, "body_b64": str}, ...]}
and writes {"signatures": [str, ...], "valid": [bool, ...]} on stdout: signatures computed by
slack_sdk's SignatureVerifier.generate_signature, and SignatureVerifier.is_valid results with
its clock set to "now".
"""

import base64
import json
import sys

from slack_sdk.signature import Clock, SignatureVerifier


class FixedClock(Clock):
    def __init__(self, now):
        self._now = now

    def now(self):
        return float(self._now)


def main():
    req = json.load(sys.stdin)
    verifier = SignatureVerifier(req["secret"], clock=FixedClock(req["now"]))
    signatures = [
        verifier.generate_signature(
            timestamp=case["timestamp"], body=base64.b64decode(case["body_b64"])
        )
        for case in req.get("sign", [])
    ]
    valid = [
        verifier.is_valid(
            body=base64.b64decode(case["body_b64"]),
            timestamp=case["timestamp"],
            signature=case["signature"],
        )
        for case in req.get("verify", [])
    ]
    json.dump({"signatures": signatures, "valid": valid}, sys.stdout)


if __name__ == "__main__":
    main()
