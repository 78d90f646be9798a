"""`manage.py load_calendar FILE --year 2027 [--source "国办发明电〔2026〕X号"]`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workdays.services import CalendarFileInvalid, calendar_load


class Command(BaseCommand):
    help = "载入国务院公布的某年节假日安排(CSV 或 XLSX:date, kind, name),任何一行有错则不做修改"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV 或 XLSX 文件")
        parser.add_argument("--year", type=int, required=True, help="年度,例如 2027")
        parser.add_argument("--source", default="", help="来源,例如 国办发明电〔2026〕X号")

    def handle(self, *args, file: Path, year: int, source: str, **options) -> None:
        if not file.is_file():
            raise CommandError(f"文件不存在:{file}")
        try:
            report = calendar_load(
                rows_or_file=file, year=year, source=source or file.name, user=None
            )
        except CalendarFileInvalid as exc:
            for problem in exc.detail.get("errors", []):
                row = problem.get("row")
                where = f"第{row}行" if row is not None else "文件"
                self.stderr.write(f"  {where}:{problem['message']}")
            raise CommandError(f"{exc.message}({file})") from exc
        for line in report.lines():
            self.stdout.write(line)
