"""Indexes coverage reads (visits.coverage), added to the database only.

- (year, quarter, created_at): the data stamp's newest visit of a quarter, one index probe.
- (year, quarter, village, household): "visited" as a hashed IN over the region's visits of the
  quarter, read from the index alone.

Database-only (`SeparateDatabaseAndState`): the `Visit` model belongs to the visits app's
owner, whose `Meta.indexes` do not list these yet, so recording them in the migration state
would make `makemigrations` want to remove them. Moving them into `Visit.Meta.indexes` later
needs a state-only migration with the same names.
"""

from django.db import migrations, models

INDEXES = [
    models.Index(fields=["year", "quarter", "created_at"], name="visit_cov_stamp_idx"),
    models.Index(
        fields=["year", "quarter", "village", "household"], name="visit_cov_village_hh_idx"
    ),
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
