"""What the near-duplicate check finds for visit photos now, as JSON lines: for whoever must
explain why a photo was (or was not) flagged, and to compare processes.

    manage.py neardup_search PHOTO_ID [PHOTO_ID ...]
    manage.py neardup_search --stdin   # ids one a line, answered as they come

One process keeps one index, as a task worker does: with `--stdin` every answer after the
first reads only the rows added since the one before.
"""

import json
import sys

from django.core.management.base import BaseCommand

from visits.neardup import INDEX, photo_report


class Command(BaseCommand):
    help = "Print the near-duplicate match of visit photos (JSON, one line a photo)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("photo_ids", nargs="*")
        parser.add_argument("--stdin", action="store_true", help="read photo ids from stdin")

    def handle(self, *args, photo_ids: list[str], stdin: bool, **options) -> None:
        ids = (line.strip() for line in sys.stdin) if stdin else iter(photo_ids)
        for photo_id in ids:
            if not photo_id:
                continue
            report = photo_report(photo_id)
            state = INDEX.state()
            report["index"] = {"size": state.size, "cursor": state.cursor} if state else None
            self.stdout.write(json.dumps(report, ensure_ascii=False, sort_keys=True))
            self.stdout.flush()
