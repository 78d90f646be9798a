"""Load a one-card payment list (CSV or XLSX) from the command line: all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from payments.loader import payments_load


class Command(BaseCommand):
    help = "导入“一卡通”补贴发放名单(.csv / .xlsx):有任何一行不合格则全部不导入,并列出每一行的问题"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="发放名单文件")
        parser.add_argument("--user", help="以该账号导入(只能导入其辖区的发放记录,并记入审计)")
        parser.add_argument("--no-rules", action="store_true", help="导入后不运行预警规则")

    def handle(self, *args, path: str, user: str | None, no_rules: bool, **options) -> None:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"文件不存在: {path}")
        loader = None
        if user:
            loader = User.objects.filter(username=user, is_active=True).first()
            if loader is None:
                raise CommandError(f"账号不存在: {user}")
        with file.open("rb") as stream:
            report = payments_load(
                stream=stream, filename=file.name, user=loader, run_rules=not no_rules
            )
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(f"未导入:共 {len(report.errors)} 处问题")
