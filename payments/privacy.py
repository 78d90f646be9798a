"""What of a payee may be shown where: masks for names, ID numbers and bank accounts.

Payment lists are published (公示) with masked names and neither ID nor account numbers (seed
003 asks for disclosure "while protecting personal privacy"); the full account number is never
stored at all, only its masked form.
"""

import re

from register.validators import mask_id_number

__all__ = ["mask_account", "mask_id_number", "mask_name"]

_ACCOUNT_DIGITS = re.compile(r"^\d{8,32}$")
_ACCOUNT_MASKED = re.compile(r"^\d{0,6}\*+\d{0,4}$")


def mask_name(name: str) -> str:
    """张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明: the first and last characters of a longer
    name stay, so neighbours recognise a line without a stranger learning the name."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_account(text: str) -> str:
    """The form an account number is stored in: 6217********1234 (first four and last four
    digits). A number already masked by the paying bank is kept as it is. ValueError when the
    text is neither."""
    text = re.sub(r"[\s-]", "", text or "")
    if _ACCOUNT_DIGITS.match(text):
        return text[:4] + "*" * (len(text) - 8) + text[-4:]
    if _ACCOUNT_MASKED.match(text) and len(text) <= 32:
        return text
    # The text itself is not repeated: a near-miss may still be someone's account number.
    raise ValueError("银行账号应为8至32位数字,或银行给出的掩码形式(如 6217****1234)")
