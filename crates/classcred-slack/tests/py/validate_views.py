"""Block Kit oracle for classcred-slack's tests, using slack_sdk.models.

Reads {"views": [view, ...], "blocks": [[block, ...], ...]} on stdin and writes
{"views": [null | error, ...], "blocks": [null | error, ...]} on stdout: each view is loaded as
slack_sdk.models.views.View and validated; each block list is parsed with Block.parse_all and
each block validated.
"""

import json
import sys

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def check(fn):
    try:
        fn()
        return None
    except Exception as e:  # report any validation failure as text
        return f"{type(e).__name__}: {e}"


def validate_view(v):
    view = View(**v)
    view.validate_json()
    if view.to_dict().get("type") != v.get("type"):
        raise ValueError("type lost")


def validate_blocks(blocks):
    parsed = Block.parse_all(blocks)
    if len(parsed) != len(blocks) or any(b is None for b in parsed):
        raise ValueError("unparsed block")
    for b in parsed:
        b.validate_json()


def main():
    req = json.load(sys.stdin)
    out = {
        "views": [check(lambda v=v: validate_view(v)) for v in req.get("views", [])],
        "blocks": [check(lambda b=b: validate_blocks(b)) for b in req.get("blocks", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
