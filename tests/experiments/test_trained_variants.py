"""Claim 1, claim 5 and the release check read trained variants from a WORK folder: LoRAs, a full fine-tune
and the I2V baseline."""

import json
import math

import ablations
import candidate
import claim1
import pytest
import task_sampling
import torch
from variants import train_record, variant_pipeline


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A WORK folder shaped like scripts/train_ablations.sh's, with random (untrained) variants of the shipped base."""
    from i2v_baseline import widen
    from peft import LoraConfig

    from pusa.mini import default_pipeline
    from pusa.training.config import WAN_LORA_TARGETS
    from pusa.training.export import export_lora

    root = tmp_path_factory.mktemp("work")
    base = default_pipeline(lora_strength=0.0).transformer
    base.add_adapter(LoraConfig(r=2, lora_alpha=2.0, target_modules=list(WAN_LORA_TARGETS)))
    with torch.no_grad():
        for name, p in base.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    export_lora(base, root / "p1-r16" / "final")
    (root / "p1-r16" / "final" / "recipe.json").write_text(json.dumps({"steps": 3, "batch": 2, "rank": 2, "lr": 1e-3}))
    full = default_pipeline(lora_strength=0.0).transformer
    full.save_pretrained(root / "p1-full" / "final" / "transformer")
    wide = widen(default_pipeline(lora_strength=0.0).transformer, 4)
    wide.save_pretrained(root / "i2v-baseline" / "transformer")
    (root / "i2v-baseline" / "baseline.json").write_text(json.dumps({"steps": 6, "batch": 2, "clips_seen": 12,
                                                                        "distinct_clips": 12, "seconds": 1.0}))
    (root / "cache").mkdir()
    samples = [{"key": str(i)} for i in range(4)]
    (root / "cache" / "manifest.json").write_text(json.dumps({"format": "pusa-latent-cache", "samples": samples}))
    return root


def test_variant_pipeline_loads_a_lora_or_a_full_transformer_and_refuses_an_empty_folder(work, tmp_path):
    from pusa.mini import default_pipeline

    shipped_base = default_pipeline(lora_strength=0.0).transformer.state_dict()
    lora = variant_pipeline(work / "p1-r16" / "final").transformer.state_dict()
    full = variant_pipeline(work / "p1-full" / "final", "bfloat16").transformer
    key = "blocks.0.attn1.to_q.weight"
    fused = lora.get(key, lora.get("blocks.0.attn1.to_q.base_layer.weight"))
    assert not torch.equal(fused, shipped_base[key])  # the variant's LoRA is fused in
    assert full.patch_embedding.weight.dtype == torch.bfloat16
    with pytest.raises(SystemExit, match="no trained variant"):
        variant_pipeline(tmp_path)


def test_train_record_reads_recipe_and_baseline_files(work):
    assert train_record(work / "p1-r16" / "final")["clips_seen"] == 6
    assert train_record(work / "i2v-baseline")["clips_seen"] == 12
    assert train_record(work / "nothing") == {}


@pytest.mark.slow
@pytest.mark.parametrize("module", [ablations, claim1, task_sampling])
def test_claim_scripts_run_on_trained_variants(module, work, tmp_path):
    out = tmp_path / "results"
    extra = ["--pusa", "p1-r16", "--also", ""] if module is claim1 else []
    module.main(["--work", str(work), "--n", "1", "--steps", "1", "--out", str(out), "--cache", "", *extra])
    text = (out / f"{module.NAME}.md").read_text()
    assert f"python experiments/{module.NAME}.py" in text and "| 1 |" in text
    assert (out / f"{module.NAME}.png").is_file()
    if module is ablations:
        assert "p_async 1 (r16)" in text and "full fine-tune (p 1)" in text and "Not trained yet" in text
    elif module is task_sampling:
        assert "| p_async 1: i2v |" in text and "| p_async 1: extend |" in text and "Not trained yet" in text
    else:
        assert "I2V baseline" in text and "6 × 2" in text and "| 4 | 6 |" in text  # the LoRA's cache and clips seen
        assert "do **not** both hold" in text  # 12 / 4 = 3× the data


def test_claim1_ratios_and_verdict_come_from_the_training_records():
    pusa = {"steps": 50, "batch": 4, "clips_seen": 200, "distinct_clips": 40, "seconds": 300.0, "rank": 32}
    base = {"steps": 460, "batch": 8, "clips_seen": 3680, "distinct_clips": 3680, "seconds": 6000.0}
    r = claim1.ratios(pusa, base)
    assert r["data"] == pytest.approx(92) and r["seen"] == pytest.approx(18.4)
    assert r["compute"] == pytest.approx(18.4 * 1.5) and r["seconds"] == pytest.approx(20)
    assert "**hold**" in claim1.budget_table(pusa, base)
    short = {**base, "clips_seen": 2000, "distinct_clips": 2000}  # 50× the data but 15× the compute
    assert "do **not** both hold" in claim1.budget_table(pusa, short)
    assert all(math.isnan(v) for v in claim1.ratios({}, base).values())  # nan where a record is missing


def test_claim1_verdict_also_needs_the_measured_per_step_cost():
    """Per-step CPU seconds (claim1_timing.py) count per sample: a LoRA step of 4 at 5 s is 1.25 s a sample, a
    baseline step of 8 at 8 s is 1 s, so 3,680 baseline samples against 200 LoRA ones is 14.7×, not 20×."""
    timing = {"lora_step_s": 5.0, "lora_batch": 4, "baseline_step_s": 8.0, "baseline_batch": 8,
              "date": "2026-12-03 03:40", "torch_threads": 1}
    base = {"steps": 460, "batch": 8, "clips_seen": 3680, "distinct_clips": 3680, "seconds": 6000.0}
    pusa = {"steps": 50, "batch": 4, "clips_seen": 200, "distinct_clips": 40, "seconds": 300.0, "rank": 32}
    assert claim1.ratios(pusa, base, timing)["cpu"] == pytest.approx(14.72)
    assert "do **not** both hold" in claim1.budget_table(pusa, base, timing)  # 27.6× by passes is not enough
    short = {**pusa, "steps": 30, "clips_seen": 120}
    assert claim1.ratios(short, base, timing)["cpu"] == pytest.approx(24.53, abs=0.01)
    text = claim1.budget_table(short, base, timing, also={"VTA LoRA 50x4": pusa})
    assert "**hold** by every count" in text and "| VTA LoRA 50x4 | LoRA rank 32 | 50 × 4 |" in text
    assert "Against VTA LoRA 50x4: 92× the data, 27.6× the compute by forward passes, 14.7× by per-step" in text


def test_claim1_timing_differences_out_the_fixed_cost():
    import claim1_timing

    cost, calls = (lambda n: (calls.append(n), 7.0 + 3.0 * n)[1]), []
    assert claim1_timing.per_step(cost, 10, 40) == (pytest.approx(3.0), {10: 37.0, 40: 127.0})
    assert calls == [10, 40]
    with pytest.raises(ValueError, match="0 < short < long"):
        claim1_timing.per_step(cost, 40, 10)


def test_claim1_refuses_a_missing_lora(work, tmp_path):
    with pytest.raises(SystemExit, match="no trained LoRA here"):
        claim1.main(["--work", str(work), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="nope/final: no trained LoRA here"):  # an --also row too, before sampling
        claim1.main(["--work", str(work), "--pusa", "p1-r16", "--also", "nope", "--out", str(tmp_path / "out")])


def test_task_sampling_needs_the_reference_variant(tmp_path):
    with pytest.raises(SystemExit, match="p1-r16/final is missing"):
        task_sampling.main(["--work", str(tmp_path), "--n", "1", "--out", str(tmp_path / "out")])


@pytest.mark.slow
def test_candidate_compares_every_task_in_halves_that_share_the_cache(work, tmp_path):
    out, cache = tmp_path / "results", tmp_path / "cache"
    args = ["--candidate", str(work / "p1-r16" / "final"), "--n", "2", "--steps", "1", "--out", str(out),
            "--cache", str(cache)]
    candidate.main([*args, "--part", "candidate"])
    assert not out.exists() and len(list(cache.rglob("*.npy"))) == 2 * 7
    candidate.main([*args, "--part", "shipped"])
    stamp = sorted((p, p.stat().st_mtime_ns) for p in cache.rglob("*.npy"))
    assert len(stamp) == 2 * 2 * 7
    candidate.main(args)  # the table, from the cache alone
    assert sorted((p, p.stat().st_mtime_ns) for p in cache.rglob("*.npy")) == stamp
    text = (out / "candidate.md").read_text()
    for task in ("i2v", "start_end", "keyframe@8", "extend", "complete", "transition", "t2v (LoRA on)"):
        assert f"| shipped: {task} |" in text and f"| candidate: {task} |" in text
    assert "| candidate − shipped: i2v |" in text and "rank 2" in text


def test_candidate_refuses_a_missing_folder(tmp_path):
    with pytest.raises(SystemExit, match="no such folder"):
        candidate.main(["--candidate", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
