"""What the web app does, without the web: check uploads, plan, generate into the out folder.

``Studio`` holds one pipeline (and at most one LoRA, loaded once; its strength is re-set before every
run with ``set_lora_strengths``, so deltas never pile up). Generations run one at a time.
"""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pusa.conditions import plan_conditions
from pusa.frames import check_frame_count, vae_factors
from pusa.ui import tasks as T
from pusa.ui.timeline import slots, timeline_html
from pusa.ui.uploads import check_image, check_video, keep_copy, new_run_dir

IMAGE_INPUTS = ("i2v_image", "se_first", "se_last", *(f"kf_image_{k}" for k in range(T.NUM_KEYFRAMES)))
VIDEO_INPUTS = ("video_a", "video_b", "v2v_video")
TASK_INPUTS = {"t2v": (), "i2v": ("i2v_image",), "start_end": ("se_first", "se_last"),
               "keyframes": tuple(f"kf_image_{k}" for k in range(T.NUM_KEYFRAMES)), "extend": ("video_a",),
               "complete": ("video_a",), "transition": ("video_a", "video_b"), "v2v": ("v2v_video",)}
MAX_SEED = 2**63 - 1


@dataclass
class Job:
    task: str
    settings: dict[str, Any]
    conditions: list
    plans: list
    command: str
    run_dir: Path
    request: Any = None  # the pusa.request.Request this job runs


@dataclass
class Result:
    video: Path
    sheet: Path
    command: str
    plans: list
    schedule: Any


@lru_cache(maxsize=32)
def _video_length(path: str, mtime: float) -> int:
    return len(check_video(path))


class Studio:
    def __init__(self, pipe, out_dir: str | Path, model: Path | None = None, lora: Path | None = None,
                 models=None) -> None:
        """The web app's state: ``models`` (a :class:`pusa.request.Models`) loads what each request needs, as
        ``pusa generate`` does, so the shown command gives the same video; or ``pipe``, an already loaded
        pipeline (no run rules). ``lora`` is loaded once at strength 1 and re-set before every run."""
        from pusa.request import Models

        self.models = models if models is not None else Models.preloaded(pipe)
        self.pipe = self.models.any()
        self.model, self.lora = model, lora
        self.warm_start = self.models.rules.warm_start or 1.0  # the slider's starting value (1 = off)
        self.out_dir = Path(out_dir).resolve()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.lora_name = None
        if lora is not None:
            from pusa.models.lora import load_loras

            self.lora_name = load_loras(self.pipe, [lora], [1.0])[0]
        self.lock = threading.Lock()

    @property
    def temporal_factor(self) -> int:
        return vae_factors(self.pipe.vae.config)[0]

    @property
    def size_multiple(self) -> int:
        return vae_factors(self.pipe.vae.config)[1] * self.pipe.transformer.config.patch_size[1]

    def settings(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The shared controls, checked, as the types the CLI takes."""
        from pusa.pipeline import PRESETS

        out = {"prompt": str(values.get("prompt") or ""), "negative_prompt": str(values.get("negative_prompt") or "")}
        if values.get("seed") in (None, ""):  # empty: a random seed, reported back in the command
            values = {**values, "seed": random.randrange(2**31)}
        for name in ("seed", "steps", "frames", "height", "width"):
            out[name] = T.integer(values, name, name)
        for name in ("cfg", "shift", "lora_strength"):
            out[name] = float(values.get(name) if values.get(name) is not None else 1.0)
        warm = values.get("warm_start")  # None: the model's rule, as `pusa generate` without --warm-start
        out["warm_start"] = float(warm) if warm is not None else self.warm_start
        if not 0 < out["warm_start"] <= 1:
            raise ValueError(f"warm start {out['warm_start']:g} must be in (0, 1] (1 = off)")
        out["preset"] = str(values.get("preset") or "default")
        if out["preset"] not in PRESETS:
            raise ValueError(f"preset {out['preset']!r}: use one of {', '.join(PRESETS)}")
        if not 0 <= out["seed"] <= MAX_SEED:
            raise ValueError(f"seed {out['seed']} must be in 0–{MAX_SEED}")
        if out["steps"] < 1:
            raise ValueError(f"steps {out['steps']} must be >= 1")
        return out

    # --- before generation ------------------------------------------------------------------

    def preview(self, task: str, values: Mapping[str, Any], uploads: Mapping[str, str | None]) -> str:
        """The planned timeline. Placeholders stand in for missing uploads (a video counts as n frames);
        of an upload only a video's length is read. Keyframe rows count once any has an image."""
        n = T.integer(values, "frames", "frames")
        check_frame_count(n, self.temporal_factor)
        names = TASK_INPUTS[task]
        if task == "keyframes" and any(uploads.get(k) for k in names):
            names = tuple(k for k in names if uploads.get(k))
        media = T.Media()
        for name in names:
            path = uploads.get(name)
            if name in VIDEO_INPUTS:
                length = _video_length(str(path), Path(path).stat().st_mtime) if path else n
                media.frames[name] = np.zeros((length, 2, 2, 3), np.uint8)
            else:
                media.frames[name] = np.zeros((2, 2, 3), np.uint8)
        if task == "transition":
            tail, head = T.integer(values, "tr_tail", "frames of A"), T.integer(values, "tr_head", "frames of B")
            media.frames["transition"] = T.join_transition(media.frames["video_a"], media.frames["video_b"], tail,
                                                           head, n, 2, 2)
        conds, _ = T.build(task, values, media)
        return timeline_html(slots(plan_conditions(conds, n, self.temporal_factor), n, self.temporal_factor))

    def prepare(self, task: str, values: Mapping[str, Any], uploads: Mapping[str, str | None]) -> Job:
        """Check every upload, copy it into a new run folder and build conditions + the equivalent command."""
        settings = self.settings(values)
        check_frame_count(settings["frames"], self.temporal_factor)
        checked = {}
        for name in TASK_INPUTS[task]:  # check everything before creating any folder
            if uploads.get(name):
                what = name.replace("_", " ")
                checked[name] = (check_video if name in VIDEO_INPUTS else check_image)(uploads[name], what)
        run = new_run_dir(self.out_dir, task, settings["seed"])
        try:
            media = T.Media()
            for name in checked:
                media.paths[name] = keep_copy(uploads[name], run, name)
                media.frames[name] = checked[name]
            if task == "transition":
                self._join_transition(values, media, settings, run)
            conds, args = T.build(task, values, media)
            s = settings
            plans = self.pipe.check_inputs(s["prompt"], s["negative_prompt"], conds, s["frames"], s["height"],
                                           s["width"], s["steps"], s["cfg"], s["shift"])
        except Exception:
            shutil.rmtree(run)  # a refused job leaves nothing behind
            raise
        from pusa.request import Request

        request = Request(prompt=s["prompt"], negative_prompt=s["negative_prompt"], conditions=tuple(conds),
                          num_frames=s["frames"], height=s["height"], width=s["width"], preset=s["preset"],
                          steps=s["steps"], cfg=s["cfg"], shift=s["shift"], seed=s["seed"],
                          warm_start=s["warm_start"])
        return Job(task, settings, conds, plans, T.command(settings, args, self.model, self.lora), run, request)

    def _join_transition(self, values, media: T.Media, settings, run: Path) -> None:
        from pusa.io import read_video, write_video

        clip = T.join_transition(media.need("video_a", "video A"), media.need("video_b", "video B"),
                                 T.integer(values, "tr_tail", "frames of A"), T.integer(values, "tr_head", "frames of B"),
                                 settings["frames"], settings["height"], settings["width"])
        path = write_video(run / "inputs" / "transition.mp4", clip, fps=self.pipe.config.fps)
        # Condition on the decoded file, so `pusa generate --video transition.mp4` sees the very same frames.
        media.frames["transition"], media.paths["transition"] = read_video(path)[0], path

    # --- generation -------------------------------------------------------------------------

    def run(self, job: Job, callback: Callable[[dict[str, Any]], None] | None = None) -> Result:
        """Generate (one at a time) and write video.mp4, video.png (contact sheet) and settings.json into the
        run folder, through the same request path as ``pusa generate``."""
        from pusa.request import resolve, run, write_outputs

        s = job.settings
        pipe = self.pipe
        request = resolve(job.request, pipe.config, self.models.rules, self.temporal_factor)
        with self.lock:
            pipe = self.models.get(request.vta_strength)
            if self.lora_name is not None:
                from pusa.models.lora import set_lora_strengths

                set_lora_strengths(pipe, {self.lora_name: s["lora_strength"]})
            gen = run(pipe, request, callback)
        video, sheet, meta = write_outputs(gen, job.run_dir / "video.mp4",
                                           extra={"task": job.task, "command": job.command,
                                                  "lora_strength": s["lora_strength"]})
        meta.rename(job.run_dir / "settings.json")
        return Result(video, sheet, job.command, gen.plans, gen.schedule)
