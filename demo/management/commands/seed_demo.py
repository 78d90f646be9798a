"""Build the demo county, or, when it is already there, only print its logins."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import grievances as demo_grievances
from demo import payments as demo_payments
from demo import register as demo
from demo import visits as demo_visits
from register.models import Household


class Command(BaseCommand):
    help = "建立演示数据(如东县):区划、单位、帮扶责任人、低收入户、结对关系及各角色登录账号"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, default=demo.DEFAULT_HOUSEHOLDS)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--reset", action="store_true", help="先清空整个数据库(flush)再重新生成"
        )
        parser.add_argument(
            "--register-only", action="store_true", help="只生成台账和账号,不生成走访和诉求"
        )

    def handle(
        self, *args, households: int, seed: int, reset: bool, register_only: bool, **options
    ) -> None:
        verbose = options["verbosity"] >= 1
        if households < 1:
            raise CommandError("--households 至少为 1")
        if reset:
            call_command("flush", interactive=False, verbosity=0)
        if demo.is_seeded():
            if verbose:
                self.stdout.write("演示数据已存在,未做任何修改(重建请加 --reset)。")
        else:
            if Household.objects.exists():
                raise CommandError("数据库中已有非演示的台账数据;要清空并生成演示数据请加 --reset")
            log = (
                (lambda msg: self.stdout.write(f"  {msg}"))
                if options["verbosity"] >= 2
                else (lambda _msg: None)
            )
            # Visits (2026Q1-Q3, with photos and flags), ~60 cases in every state, then the
            # year's subsidy payment lists checked at the visits.
            seeders = (
                ()
                if register_only
                else (demo_visits.seed, demo_grievances.seed, demo_payments.seed)
            )
            result = demo.build(households=households, seed=seed, log=log, seeders=seeders)
            if verbose:
                counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
                total = sum(result.seconds.values())
                self.stdout.write(f"演示数据已生成(seed {seed}, {total:.1f} s): {counts}")
        if verbose:
            self.print_logins()

    def print_logins(self) -> None:
        rows = [("用户名", "密码", "角色", "区划")]
        rows += [(x.username, x.password, x.role, x.region) for x in demo.demo_logins()]
        widths = [max(_width(r[i]) for r in rows) for i in range(4)]
        self.stdout.write("\n演示账号:")
        for row in rows:
            self.stdout.write(
                "  "
                + "  ".join(
                    cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
                )
            )


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
