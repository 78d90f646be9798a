from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.jobs import run_due_jobs


class Command(BaseCommand):
    help = "运行到期任务(窗口提醒、期限预警、超期督办、临时期限重算)。可重复执行,不会重复发送。"

    def add_arguments(self, parser):
        parser.add_argument("--now", help="以此时刻运行(ISO 8601,带时区;用于补跑或演示)")
        parser.add_argument("--only", action="append", help="只运行这个任务(可重复)")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now 格式错误: {options['now']}") from exc
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        results = run_due_jobs(now=now, only=options["only"])
        for path, summary in results.items():
            self.stdout.write(f"{path}: {summary}")
        if not results:
            self.stdout.write("没有注册任何任务")
        failed = [path for path, summary in results.items() if "error" in summary]
        if failed:
            raise CommandError(f"任务失败: {', '.join(failed)}")
