"""No handler waits while holding a database connection.

Waiting (for a state lock: a Redis round trip with several workers) with a connection checked
out lets a burst of events use up the pool, and the pool's wait then blocks the event loop of
the whole worker: 200 customers starting at once froze the server this way.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "online_contact"


def _session_blocks_with_awaits(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            continue
        opens_session = any(
            isinstance(item.context_expr, ast.Call)
            and getattr(item.context_expr.func, "id", getattr(item.context_expr.func, "attr", "")) == "session_scope"
            for item in node.items
        )
        if opens_session:
            awaits = [n.lineno for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Await, ast.AsyncWith, ast.AsyncFor))]
            if awaits:
                yield node.lineno, awaits


def test_no_await_inside_a_database_session():
    assert (PACKAGE / "states" / "customer_chat.py").exists()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, awaits in _session_blocks_with_awaits(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(PACKAGE)}:{line} awaits at lines {awaits}")
    assert found == []


def test_the_check_finds_an_await_in_a_session():
    code = "async def h(self):\n    with session_scope() as s:\n        await self.get_state(X)\n"
    assert list(_session_blocks_with_awaits(ast.parse(code))) == [(2, [3])]
