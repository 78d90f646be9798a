"""Seed the calendar with every year the installed chinese-calendar package knows."""

from django.db import migrations


def seed(apps, schema_editor):
    from workdays.seeding import seed_from_chinese_calendar

    seed_from_chinese_calendar(
        apps.get_model("workdays", "SpecialDay"), apps.get_model("workdays", "CalendarYear")
    )


class Migration(migrations.Migration):
    dependencies = [("workdays", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
