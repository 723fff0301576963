"""What the results pages cost to generate, read back from their footers.

    python experiments/cost.py [docs/results]

Every page ends with the wall time and CPU time of the run that wrote it (``report.markdown``); CPU time is
the process's own (user + system, all threads), so a busy machine shows up in the wall time, not in it.
This prints one row per page and the total of the issue-7 claim set (CLAIM_SET), the number the
≤ 90 CPU-minute budget is about. Pages written before CPU time was recorded show only their wall time.
A cell already in the sample cache costs nothing, so a total is meaningful only for pages regenerated
together from one empty cache (their dates tell).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

# The pages that answer the claims and measurements, in `make experiments` order; claim1 and ablations
# sample trained variants (their training is cached: scripts/train_claim1.sh, scripts/train_ablations.sh).
CLAIM_SET = ("zero_shot", "keyframe_encoding", "steps", "cond_noise", "non_destructive", "claim1", "ablations")

FOOTER = re.compile(r"^Wall time (?P<wall>[\d.]+) min(?:, CPU time (?P<cpu>[\d.]+) min)? \((?P<stamp>[^,]+),",
                    re.MULTILINE)


@dataclass(frozen=True)
class Cost:
    page: str
    wall: float  # minutes
    cpu: float | None  # minutes; None on pages from before CPU time was recorded
    stamp: str


def page_cost(name: str, text: str) -> Cost | None:
    """The cost in a page's footer, or None when the page has none."""
    m = FOOTER.search(text)
    if m is None:
        return None
    return Cost(name, float(m["wall"]), float(m["cpu"]) if m["cpu"] else None, m["stamp"])


def costs(folder: Path) -> list[Cost]:
    found = (page_cost(md.stem, md.read_text()) for md in sorted(folder.glob("*.md")))
    return [c for c in found if c is not None]


def table(rows: list[Cost]) -> str:
    lines = ["| page | in the claim set | written | wall min | CPU min |", "|---|---|---|---|---|"]
    for c in rows:
        cpu = f"{c.cpu:.1f}" if c.cpu is not None else "not recorded"
        lines.append(f"| {c.page} | {'yes' if c.page in CLAIM_SET else ''} | {c.stamp} | {c.wall:.1f} | {cpu} |")
    claim = [c for c in rows if c.page in CLAIM_SET]
    missing = sorted(set(CLAIM_SET) - {c.page for c in claim})
    if claim and all(c.cpu is not None for c in claim) and not missing:
        lines.append(f"| **claim set** | | | {sum(c.wall for c in claim):.1f} | **{sum(c.cpu for c in claim):.1f}** |")
    else:
        gap = ", ".join([*missing, *(c.page for c in claim if c.cpu is None)])
        lines.append(f"| claim set | | | | no total: {gap} missing or without a recorded CPU time |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "docs/results")
    if not folder.is_dir():
        raise SystemExit(f"{folder}: no such folder (expected the results pages, e.g. docs/results)")
    print(table(costs(folder)))


if __name__ == "__main__":
    main()
