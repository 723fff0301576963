"""experiments/cost.py: the cost in each results page's footer, and the claim set's total."""

from types import SimpleNamespace

import pytest
import report
from cost import CLAIM_SET, costs, page_cost, table
from stats import summarize


def test_a_written_page_reports_wall_and_cpu_time_that_cost_reads_back(tmp_path, monkeypatch):
    # the page's CPU time is this process's, in minutes to 1 decimal: fixed here, as a fresh process may be at 0.0
    monkeypatch.setattr(report, "time", SimpleNamespace(process_time=lambda: 30.0))
    md, _ = report.write_results("demo", tmp_path, "A demo", summarize({"a": [{"px": 1.0}] * 3}), "python x.py", 90.0)
    c = page_cost("demo", md.read_text())
    assert c.wall == 1.5
    assert c.cpu == 0.5
    assert len(c.stamp) == len("2026-12-03 04:00")


def test_old_footers_without_cpu_time_and_pages_without_a_footer():
    old = "Regenerate:\n\n    python x.py\n\nWall time 64.8 min (2026-12-02 20:52, 1 torch threads on 2 CPUs); weights: w.\n"
    c = page_cost("steps", old)
    assert (c.wall, c.cpu, c.stamp) == (64.8, None, "2026-12-02 20:52")
    assert page_cost("notes", "# a page with no footer\n") is None


def _footer(wall, cpu):
    return f"# t\n\nWall time {wall} min, CPU time {cpu} min (2026-12-03 05:00, 1 torch threads on 2 CPUs); weights: w.\n"


def test_the_claim_set_total_needs_every_claim_page_with_a_cpu_time(tmp_path):
    for i, name in enumerate(CLAIM_SET):
        (tmp_path / f"{name}.md").write_text(_footer(2.0 + i, 1.0 + i))
    (tmp_path / "extra.md").write_text(_footer(50.0, 40.0))  # not in the set: listed, not summed
    text = table(costs(tmp_path))
    n = len(CLAIM_SET)
    assert f"**{sum(1.0 + i for i in range(n)):.1f}**" in text
    assert "| extra |  | 2026-12-03 05:00 | 50.0 | 40.0 |" in text
    (tmp_path / "steps.md").unlink()
    assert "no total: steps" in table(costs(tmp_path))


def test_a_missing_folder_is_one_clear_line(tmp_path):
    from cost import main

    with pytest.raises(SystemExit, match="no such folder"):
        main([str(tmp_path / "nope")])
