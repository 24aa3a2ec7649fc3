"""Is a SQL statement read-only? `fastcart sql` runs only those unless `--allow-write`.

A statement is read-only when it is one statement that starts with a query keyword and names
no command anywhere outside string literals, quoted identifiers and comments. The check is
deliberately conservative: a column literally called `update` must be back-quoted.
"""

from __future__ import annotations

import re

from fastcart_assets.errors import FastcartError

READ_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES", "TABLE", "FROM"}
WRITE_KEYWORDS = {
    "ADD", "ALTER", "ANALYZE", "CACHE", "CLEAR", "CLONE", "COPY", "CREATE", "DELETE", "DROP",
    "GRANT", "INSERT", "LOAD", "MERGE", "MSCK", "OPTIMIZE", "OVERWRITE", "REFRESH", "REPAIR",
    "REPLACE", "RESET", "RESTORE", "REVOKE", "SET", "TRUNCATE", "UNCACHE", "UPDATE", "USE",
    "VACUUM",
}  # fmt: skip
# Comments, string literals and back-quoted identifiers, which may hold any word.
_QUOTED = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`]|``)*`", re.DOTALL
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class WriteRefused(FastcartError, ValueError):
    """The statement may change data and writing was not allowed."""


def words(statement: str) -> list[str]:
    """The statement's keywords and identifiers, upper-cased, quoted parts left out."""
    return [word.upper() for word in _WORD.findall(_QUOTED.sub(" ", statement))]


def check_read_only(statement: str) -> None:
    """Raise WriteRefused unless `statement` is a single read-only statement."""
    bare = _QUOTED.sub(" ", statement).strip().rstrip(";").strip()
    if ";" in bare:
        raise WriteRefused("one statement at a time, please")
    tokens = words(bare)
    if not tokens or tokens[0] not in READ_KEYWORDS:
        first = tokens[0] if tokens else "nothing"
        raise WriteRefused(
            f"{first} is not a query: `fastcart sql` only reads (SELECT, WITH, SHOW, DESCRIBE, "
            "EXPLAIN); pass --allow-write to change tables"
        )
    changing = sorted(WRITE_KEYWORDS.intersection(tokens))
    if changing:
        raise WriteRefused(
            f"the statement contains {', '.join(changing)}: `fastcart sql` only reads; pass "
            "--allow-write to change tables (back-quote a column named like a command)"
        )
