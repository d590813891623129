"""What dropping one removed row's terms costs SQLite's search index (services.search_upkeep.compact_step)
at a size: a standalone FTS5 table built as the product's index is (contentless, unicode61), of
`--rows` rows, merged into one segment first; then one row taken out ('delete', the tombstone)
and the merge steps run until nothing is left to merge, as the indexer runs them. Printed: the
steps, their total and the longest (how long one holds SQLite's write lock).

    python -m bench.fts_merge                 # 1,000,000 rows (~46 MB of index)
    python -m bench.fts_merge --rows 200000
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time

from online_contact.services.search_upkeep import MERGE_PAGES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fts.db")
        c = sqlite3.connect(path, isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA secure_delete=ON")
        c.execute("CREATE VIRTUAL TABLE ms USING fts5(terms, content='', columnsize=0, tokenize='unicode61 remove_diacritics 0')")
        rng = random.Random(2026)
        words = [f"w{i}" for i in range(50_000)]
        for start in range(0, args.rows, 1000):
            c.execute("BEGIN")
            c.executemany("INSERT INTO ms(rowid, terms) VALUES (?, ?)",
                          [(k, " ".join(rng.choice(words) for _ in range(8)) + " 환불 배송") for k in range(start + 1, start + 1001)])
            c.execute("COMMIT")
        c.execute("INSERT INTO ms(ms) VALUES ('optimize')")
        print(f"{args.rows:,} rows, {os.path.getsize(path) / 1e6:.0f} MB")
        c.execute("INSERT INTO ms(ms, rowid, terms) VALUES ('delete', 1, ?)", (c.execute("SELECT 'x'").fetchone()[0],))
        steps: list[float] = []
        while True:
            before = c.total_changes
            started = time.perf_counter()
            c.execute("BEGIN")
            c.execute("INSERT INTO ms(ms, rank) VALUES ('merge', ?)", (-MERGE_PAGES,))
            c.execute("COMMIT")
            steps.append(time.perf_counter() - started)
            if c.total_changes - before <= 1:
                break
        print(f"merge after one removal: {len(steps)} steps of {MERGE_PAGES} pages, {sum(steps):.2f} s in all, "
              f"longest {max(steps) * 1000:.1f} ms, median {sorted(steps)[len(steps) // 2] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
