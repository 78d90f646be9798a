"""Write the register to an XLSX workbook in the format import_register reads."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.scoping import code_in_area
from regions.models import Region
from register.spreadsheet import register_export


class Command(BaseCommand):
    help = "把台账导出为 Excel 工作簿(与 import_register 的格式相同)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="xlsx 文件")
        parser.add_argument("--region", help="只导出该区划(12位代码)及其下级")
        parser.add_argument("--user", help="以该用户身份导出:限于其管辖区域,并记入审计")

    def handle(self, *args, file: str, region: str | None, user: str | None, **options) -> None:
        if region and not Region.objects.filter(code=region).exists():
            raise CommandError(f"区划 {region} 不存在")
        actor = None
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"用户 {user} 不存在或已停用")
            if region and not code_in_area(actor, region):
                raise CommandError("该区划不在此用户的管辖范围内")
        counts = register_export(target=file, user=actor, region_code=region)
        summary = ",".join(f"{name} {n} 行" for name, n in counts.items())
        self.stdout.write(f"已导出到 {file}:{summary}")
