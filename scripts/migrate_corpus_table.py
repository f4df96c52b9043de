"""Print the before/after table of `localhb migrate` over ../shared/corpus/heartbeat.

For each file: clean (no errors), errors, and tasks runnable (pending, no
problem, not checked off), before and after migrating, then the totals.
Usage: .venv/bin/python scripts/migrate_corpus_table.py [CORPUS_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localhb.format.migrate import migrate  # noqa: E402
from localhb.format.parser import Document, parse  # noqa: E402


def runnable(doc: Document) -> int:
    return sum(1 for t in doc.pending() if not t.problem and not t.checked)


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/corpus/heartbeat"
    files = sorted(corpus.glob("[0-9]*.md"))
    if not files:
        print(f"no corpus at {corpus}")
        return 1
    print(
        "| file | clean before | errors before | runnable before | clean after | errors after "
        "| runnable after | moved | left alone |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    totals = [0] * 8
    for path in files:
        text = path.read_bytes().decode("utf-8")
        before = parse(text)
        m = migrate(text)
        after = parse(m.text)
        row = [
            int(not before.errors), len(before.errors), runnable(before),
            int(not after.errors), len(after.errors), runnable(after),
            len(m.moved), len(m.skipped),
        ]  # fmt: skip
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        if m.changed or m.skipped or before.errors or runnable(before):
            shown = ["yes" if row[0] else "no", *map(str, row[1:3]),
                     "yes" if row[3] else "no", *map(str, row[4:])]  # fmt: skip
            print(f"| {path.name[:40]} | " + " | ".join(shown) + " |")
    print(
        f"| **all {len(files)} files** | {totals[0]} clean | {totals[1]} | {totals[2]} | "
        f"{totals[3]} clean | {totals[4]} | {totals[5]} | {totals[6]} | {totals[7]} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
