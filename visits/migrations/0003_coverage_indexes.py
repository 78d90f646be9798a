"""The index coverage reads (coverage.selectors), added to the database only.

- (year, quarter, created_at): the data stamp's newest visit of a quarter (`max(created_at)`),
  one index probe instead of a scan of the quarter's visits.

Database-only (`SeparateDatabaseAndState`): the `Visit` model belongs to the visits app's
owner, whose `Meta.indexes` do not list these yet, so recording them in the migration state
would make `makemigrations` want to remove them. Moving them into `Visit.Meta.indexes` later
needs a state-only migration with the same names.
"""

from django.db import migrations, models

INDEXES = [
    models.Index(fields=["year", "quarter", "created_at"], name="visit_cov_stamp_idx"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0002_spot_checks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AddIndex(model_name="visit", index=index) for index in INDEXES
            ],
            state_operations=[],
        )
    ]
