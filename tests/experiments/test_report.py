"""experiments/report.py and plots.py: the results page and its plot, written and read back."""

import numpy as np
from PIL import Image
from plots import panels
from report import markdown, read_markdown, weights_id, write_results
from stats import Stat, paired_differences, summarize


def test_summarize_and_write_results_make_a_table_and_a_png(tmp_path):
    rows = {"cell A": [{"psnr": 30.0 + i, "dist_px": 1.0} for i in range(8)], "cell B": [{"psnr": 20.0}] * 4}
    table = summarize(rows)
    assert table["cell B"]["psnr"] == Stat(20.0, 20.0, 20.0, 4)
    md, png = write_results("demo", tmp_path / "out", "A demo", table, "python experiments/demo.py --n 8", 65.0,
                            notes="A note.")
    text = md.read_text()
    assert text.startswith("# A demo\n")
    assert "| cell A | psnr ↑ | 33.5 |" in text and "| cell A | dist_px ↓ | 1.000 | [1.000, 1.000] | 8 |" in text
    assert "    python experiments/demo.py --n 8" in text and "Wall time 1.1 min" in text and "A note." in text
    assert "![demo](demo.png)" in text
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] > 100
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["demo.md", "demo.png"]  # no temp files left


def test_a_page_reads_back_to_its_table_and_paired_cells_get_their_own_panel(tmp_path):
    rows = {"ref": [{"seam_px": 10.0 + i, "acc": i % 2} for i in range(6)],
            "a": [{"seam_px": 8.0 + 1.5 * i, "acc": 1.0} for i in range(6)]}
    rows |= paired_differences(rows, "ref")
    table = summarize(rows)
    md, png = write_results("x", tmp_path, "Title", table, "cmd", 1.0)
    title, back = read_markdown(md.read_text())
    assert title == "Title" and list(back) == list(table)
    for cell, metrics in table.items():  # the page rounds (fmt): 3 significant digits, 1 decimal from 10 up
        for metric, s in metrics.items():
            got = back[cell][metric]
            assert got.n == s.n and np.allclose([got.mean, got.lo, got.hi], [s.mean, s.lo, s.hi], rtol=5e-3, atol=1e-3)
    assert [(m, cells, t) for m, cells, t in panels(back)] == [
        ("seam_px", ["ref", "a"], "seam_px (lower is better)"), ("seam_px", ["a − ref"], "seam_px: paired, cell − ref"),
        ("acc", ["ref", "a"], "acc (higher is better)"), ("acc", ["a − ref"], "acc: paired, cell − ref")]
    assert Image.open(png).size[0] > 0


def test_markdown_names_the_weights():
    text = markdown("T", {"c": {"m": Stat(1.0, 0.5, 1.5, 3)}}, "cmd", 1.0)
    assert "weights: transformer " in text and "autoencoder " in text and "VTA LoRA " in text


def test_a_candidate_folder_is_named_by_its_own_weights(tmp_path):
    import hashlib

    for part, data in (("transformer", b"candidate"), ("vae", b"decoder")):
        (tmp_path / part).mkdir()
        (tmp_path / part / "diffusion_pytorch_model.safetensors").write_bytes(data)
    name = weights_id(tmp_path)
    assert hashlib.sha256(b"candidate").hexdigest()[:12] in name and hashlib.sha256(b"decoder").hexdigest()[:12] in name
    assert weights_id() not in name  # not the shipped weights' hashes
    text = markdown("T", {"c": {"m": Stat(1.0, 0.5, 1.5, 3)}}, "cmd", 1.0, weights=name)
    assert f"weights: {name}." in text


def test_a_point_outside_its_interval_still_plots(tmp_path):
    """A bootstrap FD interval can lie above the full-set FD (FD is biased upwards at small n)."""
    table = {"real": {"fd_features": Stat(0.74, 0.70, 2.30, 64)}, "gen": {"fd_features": Stat(0.5, 0.9, 2.0, 64)}}
    _, png = write_results("fd", tmp_path, "FD", table, "cmd", 1.0)
    assert png.is_file() and png.stat().st_size > 1000
