"""What every XLSX export writes into a cell.

- Control characters (a name or text typed or pasted with one) are not allowed in XLSX:
  openpyxl raised on them and the whole export failed with a 500. They are dropped.
- Text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is what a spreadsheet
  takes for a formula (openpyxl even writes a leading `=` as one): a complaint that began
  `=HYPERLINK(...)` became a live link in the office's workbook. As OWASP's CSV-injection
  guidance says, such text gets a leading apostrophe, so it stays text. The register's import
  takes the apostrophe off again (`unguard`), so an exported register imports unchanged.
"""

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def cell(value):
    if not isinstance(value, str):
        return value  # numbers, dates and None are written as such, never as formulas
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # first: "\x01=..." must not hide the "="
    return GUARD + value if value.startswith(FORMULA_STARTS) else value


def row(values) -> list:
    return [cell(v) for v in values]


def unguard(text: str) -> str:
    """A cell's text as it was before `cell` guarded it."""
    if text.startswith(GUARD) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
