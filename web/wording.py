"""Arabic counts with number agreement: «لا نتائج», «نتيجة واحدة», «نتيجتان», «3 نتائج»,
«11 نتيجة», «103 نتائج», «1,000 نتيجة»."""
from __future__ import annotations

# noun: (singular, dual, plural, "none")
NOUNS = {
    "result": ("نتيجة", "نتيجتان", "نتائج", "لا نتائج"),
    "article": ("مقالة", "مقالتان", "مقالات", "لا مقالات"),
    "page": ("صفحة", "صفحتان", "صفحات", "لا صفحات"),
}


def count_phrase(n: int, noun: str = "result") -> str:
    """``n`` and the noun in the form Arabic grammar gives it after that number."""
    singular, dual, plural, none = NOUNS[noun]
    if n == 0:
        return none
    if n == 1:
        return f"{singular} واحدة"
    if n == 2:
        return dual
    # 3-10 (and 103-110, ...) take the plural; 11-99, 100-102, ... the singular
    return f"{n:,} {plural if 3 <= n % 100 <= 10 else singular}"
