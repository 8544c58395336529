"""Parses activity fixtures with botbuilder's own schema (`botbuilder.schema.Activity`) and
prints, per file, one JSON line with what botbuilder reads: type, name, value, from and
conversation ids. The Rust test compares it with what our adapter takes from the same file."""

import json
import sys

from botbuilder.schema import Activity


def main():
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            activity = Activity().deserialize(json.load(f))
        print(
            json.dumps(
                {
                    "type": activity.type,
                    "name": activity.name,
                    "value": activity.value,
                    "from": activity.from_property.id if activity.from_property else None,
                    "conversation": activity.conversation.id if activity.conversation else None,
                    "text": activity.text,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
