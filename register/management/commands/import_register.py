"""Load the register from an XLSX workbook: all rows or none."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from common.errors import AppError
from register.spreadsheet import register_import


class Command(BaseCommand):
    help = "从 Excel 工作簿导入台账(households、helpers、pairings、units 工作表);任一行有误则不导入"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx 文件")
        parser.add_argument("--user", help="以该用户身份导入:只允许其管辖区域内的行,并记入审计")

    def handle(self, *args, file: str, user: str | None, **options) -> None:
        actor = None
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"用户 {user} 不存在或已停用")
        try:
            report = register_import(workbook_path_or_file=file, user=actor)
        except AppError as exc:
            raise CommandError(exc.message) from exc
        if not report.ok:
            for line in report.lines():
                self.stderr.write(line)
            raise CommandError(f"导入失败:{len(report.errors)} 处错误,未做任何修改")
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write("导入完成")
