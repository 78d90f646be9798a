"""What every XLSX export writes into a cell.

Control characters (a name or text typed or pasted with one) are not allowed in XLSX: openpyxl
raised on them and the whole export failed with a 500. They are dropped from the cell.
"""

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def cell(value):
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def row(values) -> list:
    return [cell(v) for v in values]
