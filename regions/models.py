"""Administrative divisions keyed by the national 12-digit statistical division code.

The code's digits are 2 province, 2 city, 2 county, 3 town, 3 village, so an area's
descendants share its code's significant prefix: "in my area" is `code LIKE 'prefix%'`, which
an ordinary index serves (on PostgreSQL Django adds a `varchar_pattern_ops` index for it).
"""

from django.core.validators import RegexValidator
from django.db import models


class Level(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县(市、区)"
    TOWN = "town", "镇(街道)"
    VILLAGE = "village", "村(居)"


# How many leading digits of the code are significant at each level.
PREFIX_DIGITS = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWN: 9,
    Level.VILLAGE: 12,
}
CHILD_LEVEL = {
    Level.PROVINCE: Level.CITY,
    Level.CITY: Level.COUNTY,
    Level.COUNTY: Level.TOWN,
    Level.TOWN: Level.VILLAGE,
}

code_validator = RegexValidator(r"^\d{12}$", "区划代码必须是12位数字")


def level_of_code(code: str) -> Level:
    """The level a 12-digit code names, read from its trailing zeros."""
    if code[9:] != "000":
        return Level.VILLAGE
    if code[6:9] != "000":
        return Level.TOWN
    if code[4:6] != "00":
        return Level.COUNTY
    if code[2:4] != "00":
        return Level.CITY
    return Level.PROVINCE


def prefix_of_code(code: str) -> str:
    return code[: PREFIX_DIGITS[level_of_code(code)]]


class Region(models.Model):
    AREA_PATH = ""  # a region is scoped by its own code

    code = models.CharField(
        "区划代码", max_length=12, primary_key=True, validators=[code_validator]
    )
    name = models.CharField("名称", max_length=64)
    level = models.CharField("层级", max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=[choice.value for choice in Level]),
                name="region_level_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"

    @property
    def prefix(self) -> str:
        """The code's significant digits: every descendant's code starts with them."""
        return self.code[: PREFIX_DIGITS[Level(self.level)]]

    def contains(self, code: str) -> bool:
        return code.startswith(self.prefix)
