"""Helpers for bench/fuzz.sh: seed the fuzz database and issue one bearer token per role.

    python bench/fuzz.py seed --households 300   # demo county (visits, cases) unless seeded
    python bench/fuzz.py tokens                  # "<role>\t<token>" per demo login

Runs with the environment's settings (DATABASE_URL etc.), never against the test database.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiToken, User, hash_token  # noqa: E402
from demo import register as demo  # noqa: E402

# One demo login per role the fuzzer calls as (the demo county's names); rugao_office is the
# other county's office, an outsider to everything the others can see.
ROLES = {
    "helper": "helper01",
    "unit": "unit_renshe",
    "town_office": "town_juegang",
    "county_office": "county_office",
    "supervisor": "supervisor",
    "department": "dept_minzheng",
    "outsider_office": "rugao_office",
}


def seed(households: int) -> None:
    call_command("migrate", verbosity=0)
    if demo.is_seeded():
        print("already seeded", file=sys.stderr)
        return
    result = demo.build(households=households, log=lambda m: print(m, file=sys.stderr))
    print(f"seeded {result.total_rows} rows", file=sys.stderr)


def tokens() -> None:
    for role, username in ROLES.items():
        user = User.objects.get(username=username)
        raw = ApiToken.new_key()
        ApiToken.objects.create(
            user=user,
            key_hash=hash_token(raw),
            device_name="bench-fuzz",
            expires_at=timezone.now() + settings.API_TOKEN_TTL,
        )
        print(f"{role}\t{raw}")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--households", type=int, default=300)
    sub.add_parser("tokens")
    args = parser.parse_args()
    if args.cmd == "seed":
        seed(args.households)
    else:
        tokens()


if __name__ == "__main__":
    main()
