"""One request path: every face builds a :class:`Request`, and the same request gives the same video.

``pusa generate`` (one run or a ``--batch`` line), the web app and the Python API (:func:`pusa.generate`)
all go through the three steps here:

1. :func:`resolve` fills what the request leaves open from the model: the preset's steps, CFG and shift,
   the model's geometry, a random seed (reported back), and the model's own run rules
   (:class:`ModelRules`: for the embedded Pusa-mini, which VTA LoRA strength plain text-to-video runs,
   the warm start of conditioned tasks and the overlap noise of a chained long video). It checks every number (finite, within both bounds).
2. :func:`run` samples the resolved request on a pipeline that :class:`Models` loaded for it.
3. :func:`write_outputs` writes the mp4, its contact sheet and the settings json, atomically.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pusa.checks import number as _number
from pusa.checks import whole as _whole
from pusa.presets import PRESETS

MAX_SEED = 2**63 - 1
EMBEDDED = "pusa-mini (embedded)"


@dataclass(frozen=True)
class ModelSpec:
    """What to load: a model folder (None: the embedded Pusa-mini), extra LoRAs and where to run it."""

    model: Path | None = None
    loras: tuple[tuple[Path, float], ...] = ()
    loras_2: tuple[tuple[Path, float], ...] = ()  # Wan2.2's low-noise expert
    dtype: str = "float32"
    device: str = "cpu"
    offload: str = "none"
    vae_tiling: bool = False
    boundary: float | None = None

    @property
    def embedded(self) -> bool:
        return self.model is None


@dataclass(frozen=True)
class ModelRules:
    """How a model wants to be run when the request does not say: its VTA LoRA strength for plain
    text-to-video (embedded Pusa-mini only; None: the LoRA as loaded) and the warm start σ of
    conditioned tasks (None: the paper's start from pure noise), and the noise multiplier of a chained long
    video's overlap latents (None: 0)."""

    t2v_vta_strength: float | None = None
    warm_start: float | None = None
    overlap_noise: float | None = None  # long video, chained: m of the overlap latents (None: 0, kept exactly)


@dataclass(frozen=True)
class Request:
    """One video to generate. Positions in ``conditions`` are pixel frames; None means "the model's default"."""

    prompt: str = ""
    negative_prompt: str = ""
    conditions: tuple = ()
    num_frames: int | None = None
    height: int | None = None
    width: int | None = None
    preset: str = "default"
    steps: int | None = None
    cfg: float | None = None
    shift: float | None = None
    seed: int | None = None
    warm_start: float | None = None  # σ the generated frames start from; 1 = from pure noise
    timestep_mode: str = "float"
    vta_strength: float | None = None  # embedded Pusa-mini: set by resolve from its rules
    # Long video (pusa.long): None = not given. A request with more frames than the model's window, or with any
    # of these, runs window by window; resolve fills the rest for it and leaves them None otherwise.
    window: int | None = None  # pixel frames per window, r·k+1 (default: the model's frames)
    overlap: int | None = None  # pixel frames neighbouring windows share, a multiple of r
    schedule: str | None = None  # "chained" (default) or "staggered"
    overlap_noise: float | None = None  # chained: noise multiplier m of the overlap latents (0 = kept exactly)
    lag: int | None = None  # staggered: steps between neighbouring frames (default: the smallest that slides)
    anti_drift: float | None = None  # chained: AdaIN strength toward the first window's latent statistics
    prompts: tuple = ()  # ((start, end, text), ...): a prompt per range of pixel frames, inclusive

    @property
    def long_options(self) -> dict[str, Any]:
        return {"window": self.window, "overlap": self.overlap, "schedule": self.schedule,
                "overlap_noise": self.overlap_noise, "lag": self.lag, "anti_drift": self.anti_drift,
                "prompts": tuple(self.prompts) or None}

    def settings(self) -> dict[str, Any]:
        """The request as json-ready settings (conditions as their labels and positions)."""
        out = {k: v for k, v in asdict(self).items() if k != "conditions"}
        out["conditions"] = [{"label": c.label, "start": c.start, "frames": c.num_frames, "noise": c.noise}
                             for c in self.conditions]
        return out


def rules_for(spec: ModelSpec) -> ModelRules:
    """The embedded Pusa-mini's rules (:mod:`pusa.mini.shipped`), none for other models; extra LoRAs on the
    embedded model keep its VTA LoRA on for every task."""
    if not spec.embedded:
        return ModelRules()
    from pusa.mini.shipped import LONG_OVERLAP_NOISE, T2V_VTA_STRENGTH, WARM_START

    return ModelRules(None if spec.loras else T2V_VTA_STRENGTH, WARM_START, LONG_OVERLAP_NOISE)


MAX_SIDE = 8192  # pixels; the memory estimate (pusa.memory) bounds what a device can hold


def validate(request: Request) -> None:
    """Every number the request gives, checked without a model: finite, within both bounds."""
    r = request
    if r.preset not in PRESETS:
        raise ValueError(f"preset {r.preset!r}: use one of {', '.join(PRESETS)}")
    if r.timestep_mode not in ("float", "reference"):
        raise ValueError(f"timestep mode {r.timestep_mode!r}: use 'float' or 'reference'")
    if not isinstance(r.prompt, str) or not isinstance(r.negative_prompt, str):
        raise ValueError("prompt and negative prompt must be text")
    for name, value, high in (("steps", r.steps, 1000), ("frames", r.num_frames, 100_000),
                              ("height", r.height, MAX_SIDE), ("width", r.width, MAX_SIDE), ("seed", r.seed, MAX_SEED)):
        if value is not None:
            _whole(name, value, 0 if name == "seed" else 1, high)
    for name, value, high, low_open in (("cfg", r.cfg, 100.0, False), ("shift", r.shift, 100.0, True),
                                        ("warm start", r.warm_start, 1.0, True)):
        if value is not None:
            _number(name, value, 0.0, high, low_open)
    from pusa.long import validate_long

    validate_long(r)


def rules_strength(rules: ModelRules, conditioned: bool) -> float | None:
    """The VTA LoRA strength the model's rules give a request with or without given frames (None: as loaded)."""
    if rules.t2v_vta_strength is None:
        return None
    return 1.0 if conditioned else rules.t2v_vta_strength


def resolve(request: Request, pipe_config: Any, rules: ModelRules = ModelRules(), temporal_factor: int = 4) -> Request:
    """The request with every default filled from the preset, the model and its rules, every number checked."""
    from pusa.frames import num_latent_frames

    validate(request)
    p = PRESETS[request.preset]
    steps = _whole("steps", request.steps if request.steps is not None else p["num_inference_steps"], 1, 1000)
    cfg = _number("cfg", request.cfg if request.cfg is not None else p["guidance_scale"], 0.0, 100.0)
    shift = _number("shift", request.shift if request.shift is not None else p["shift"], 0.0, 100.0, low_open=True)
    seed = request.seed if request.seed is not None else random.randrange(2**31)
    seed = _whole("seed", seed, 0, MAX_SEED)
    frames = request.num_frames if request.num_frames is not None else pipe_config.default_num_frames
    height = request.height if request.height is not None else pipe_config.default_height
    width = request.width if request.width is not None else pipe_config.default_width
    given = sum(c.num_frames for c in request.conditions)
    warm = request.warm_start
    if warm is None and request.conditions and given < frames:
        warm = rules.warm_start
    if warm is not None:
        warm = _number("warm start", warm, 0.0, 1.0, low_open=True)
    strength = request.vta_strength
    if strength is None:
        strength = rules_strength(rules, bool(request.conditions))
    num_latent_frames(_whole("frames", frames, 1, 100_000), temporal_factor)  # r·k+1, or the nearest valid counts
    out = replace(request, steps=steps, cfg=cfg, shift=shift, seed=seed, num_frames=frames, height=height,
                  width=width, warm_start=warm, vta_strength=strength)
    from pusa.long import is_long, resolve_long

    if is_long(frames, pipe_config.default_num_frames, **request.long_options):
        out = resolve_long(out, request, pipe_config.default_num_frames, rules, temporal_factor)
    return out


def spec_geometry(spec: ModelSpec):
    """The model's :class:`pusa.memory.ModelGeometry` and default (frames, height, width), read from its config
    files without loading weights; None where the layout keeps them elsewhere (the original Wan release)."""
    from pusa.memory import geometry_from_configs

    def read(path: Path) -> dict | None:
        return json.loads(path.read_text()) if path.is_file() else None

    if spec.embedded:
        from pusa.mini import MINI, MINI2
        from pusa.mini.shipped import AUTOENCODER, TRANSFORMER

        learned = read(AUTOENCODER / "config.json")
        mini = MINI2 if learned else MINI
        vae = learned or {"temporal_factor": mini.temporal_factor, "spatial_factor": mini.spatial_factor}
        transformer, defaults = read(TRANSFORMER / "config.json"), (mini.num_frames, mini.height, mini.width)
    else:
        transformer, vae = read(spec.model / "transformer" / "config.json"), read(spec.model / "vae" / "config.json")
        index = read(spec.model / "model_index.json") or {}
        defaults = tuple(index.get(k) for k in ("default_num_frames", "default_height", "default_width"))
        if vae is not None and None in defaults:  # a plain diffusers Wan folder: the family's native geometry
            from pusa.models.checkpoints import native_defaults

            native = native_defaults(vae)
            defaults = tuple(d or native[k] for d, k in zip(defaults, ("default_num_frames", "default_height",
                                                                       "default_width")))
    if transformer is None or vae is None:
        return None
    try:
        return geometry_from_configs(transformer, vae), defaults
    except (KeyError, TypeError, ValueError):
        return None


def preflight(spec: ModelSpec, request: Request) -> dict | None:
    """Before anything loads: the request's geometry against the model's position tables, and its memory
    estimate against the device (:func:`pusa.memory.check_request_fits`). Returns the estimate (None: the
    model's configs could not be read, so the check waits for the loaded model)."""
    from pusa.memory import check_request_fits

    found = spec_geometry(spec)
    if found is None:
        return None
    from pusa.frames import check_frame_count

    geometry, (frames, height, width) = found
    window = frames or 81
    frames = request.num_frames or frames or 81
    check_frame_count(frames, geometry.temporal_factor)  # names the nearest valid counts
    from pusa.long import is_long

    if is_long(frames, window, **request.long_options):  # a long video runs one window at a time
        from pusa.long import default_overlap, window_latents

        window, r = request.window or window, geometry.temporal_factor
        window_latents(window, request.overlap if request.overlap is not None else default_overlap(window, r), r)
        frames = min(frames, window)
    height, width = request.height or height or 480, request.width or width or 832
    return check_request_fits(geometry, frames, height, width, spec.device,
                              weight_bytes=2 if spec.dtype == "bfloat16" else 4, offload=spec.offload)


class Models:
    """Pipelines by (spec, VTA strength), loaded once each; the embedded model's variants share MiniLM."""

    def __init__(self, spec: ModelSpec, log: Callable[[str], None] = lambda m: None,
                 rules: ModelRules | None = None) -> None:
        self.spec, self.log, self._pipes = spec, log, {}
        self.rules = rules if rules is not None else rules_for(spec)

    @classmethod
    def preloaded(cls, pipe, rules: ModelRules = ModelRules()) -> Models:
        """Models over one already loaded pipeline that runs every request (``rules``: none by default)."""
        models = cls(ModelSpec(model=Path("<preloaded>")), rules=rules)
        models._pipes[None] = pipe
        return models

    def any(self):
        """A loaded pipeline (for its config), loading the one conditioned tasks use if none is."""
        return next(iter(self._pipes.values())) if self._pipes else self.get(None)

    def get(self, vta_strength: float | None):
        """The pipeline for a resolved request's VTA strength (one pipeline unless the rules switch it)."""
        switching = self.rules.t2v_vta_strength is not None
        key = (1.0 if vta_strength is None else float(vta_strength)) if switching else None
        if key not in self._pipes:
            self._pipes[key] = self._load(key)
        return self._pipes[key]

    def _load(self, vta_strength: float | None):
        import torch

        from pusa.memory import apply_memory_options

        spec = self.spec
        if spec.embedded:
            from pusa.mini import default_pipeline

            text = None
            if self._pipes:
                other = next(iter(self._pipes.values()))
                text = (other.tokenizer, other.text_encoder)
            strength = 1.0 if vta_strength is None else vta_strength
            pipe = default_pipeline(lora_strength=strength, fuse=not (spec.loras or spec.loras_2),
                                    dtype=torch.bfloat16 if spec.dtype == "bfloat16" else None, text=text)
        else:
            pipe = load_model_folder(spec.model, spec.dtype, self.log)
        pipe = apply_memory_options(pipe, spec.device, spec.offload, spec.vae_tiling)
        if spec.boundary is not None:
            pipe.register_to_config(boundary_ratio=spec.boundary)
        if spec.loras or spec.loras_2:
            from pusa.models.lora import ExpertView, load_loras

            if spec.loras:
                load_loras(pipe, [p for p, _ in spec.loras], [a for _, a in spec.loras])
            if spec.loras_2:
                load_loras(ExpertView(pipe, "transformer_2"), [p for p, _ in spec.loras_2], [a for _, a in spec.loras_2])
        pipe.set_progress_bar_config(disable=True)
        return pipe


def load_model_folder(model: Path, dtype: str = "float32", log: Callable[[str], None] = lambda m: None):
    """A pipeline from any folder layout ``pusa.loading`` reads, loaded quietly on the CPU."""
    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from pusa.loading import LAYOUTS, load_pipeline

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    pipe, layout = load_pipeline(model, dtype=torch.bfloat16 if dtype == "bfloat16" else torch.float32, device="cpu")
    log(f"model: {model} ({LAYOUTS[layout]})")
    return pipe


@dataclass
class Generation:
    """What :func:`run` made: frames [T, H, W, 3] in [0, 1], where each condition landed, the schedule."""

    frames: Any
    plans: list
    schedule: Any
    request: Request
    fps: int
    temporal_factor: int
    extra: dict = field(default_factory=dict)

    @property
    def conditioned(self) -> set[int]:
        """The pixel frames the user gave (the warm start's added conditions are drawn, not given)."""
        from pusa.conditions import WARM_START_LABEL

        return {p for plan in self.plans if plan.condition.label != WARM_START_LABEL
                for p in range(plan.condition.start, plan.condition.end + 1)}

    def settings(self) -> dict[str, Any]:
        return {**self.request.settings(), "fps": self.fps, **self.extra,
                "conditions": [plan.describe(self.temporal_factor) for plan in self.plans]}


def run(pipe, request: Request, callback: Callable[[dict], None] | None = None) -> Generation:
    """Sample a resolved request (see :func:`resolve`) on ``pipe``."""
    import torch

    r = request
    if r.steps is None or r.seed is None:
        raise ValueError("run() takes a resolved request: call resolve() first")
    if r.window is not None:  # resolve set it: a long video, window by window (pusa.long)
        from pusa.long import run_long

        video = run_long(pipe, r, callback)
        return Generation(video.frames, list(video.plans), video.schedule, r, pipe.config.fps, pipe.temporal_factor,
                          extra={"windows": video.lines()})
    result = pipe(r.prompt, negative_prompt=r.negative_prompt, conditions=list(r.conditions), num_frames=r.num_frames,
                  height=r.height, width=r.width, num_inference_steps=r.steps, guidance_scale=r.cfg, shift=r.shift,
                  generator=torch.Generator().manual_seed(r.seed), timestep_mode=r.timestep_mode,
                  warm_start=None if r.warm_start in (None, 1.0) else r.warm_start, callback=callback)
    return Generation(result.frames[0], result.plans, result.schedule, r, pipe.config.fps, pipe.temporal_factor)


def output_paths(out: Path) -> tuple[Path, Path, Path]:
    """(video, contact sheet, settings) for an output ``.mp4`` path."""
    return out, out.with_suffix(".png"), out.with_suffix(".json")


def check_outputs(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an output that is not .mp4 or would overwrite a file without ``overwrite``."""
    from pusa.io import check_writable

    if out.suffix.lower() != ".mp4":
        raise ValueError(f"--out {out}: must end in .mp4")
    for path in output_paths(out):
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass --overwrite or choose another --out")
        check_writable(path, "--out")


def write_outputs(gen: Generation, out: Path, overwrite: bool = False, extra: dict | None = None) -> tuple[Path, Path, Path]:
    """The settings json, the contact sheet (given frames framed) and the mp4, each written atomically; the
    mp4 comes last, so its presence marks a finished job (``--batch`` skips those on restart)."""
    from pusa.io import atomic_path, write_contact_sheet, write_video

    video, sheet, meta = output_paths(out)
    with atomic_path(meta, overwrite) as tmp:
        tmp.write_text(json.dumps({**gen.settings(), **(extra or {})}, indent=2, default=str) + "\n")
    write_contact_sheet(sheet, gen.frames, highlight=gen.conditioned, overwrite=overwrite)
    write_video(video, gen.frames, fps=gen.fps, overwrite=overwrite)
    return video, sheet, meta


def generate(request: Request, models: Models, callback: Callable[[dict], None] | None = None) -> Generation:
    """Resolve against the model, pick the pipeline its rules ask for, and run."""
    pipe = models.get(rules_strength(models.rules, bool(request.conditions)))  # the one it will most likely run
    resolved = resolve(request, pipe.config, models.rules, pipe.temporal_factor)
    return run(models.get(resolved.vta_strength), resolved, callback)


def plan_lines(pipe, request: Request) -> list[str]:
    """One line per condition, "condition 0: x.png @ pixel 0, m=0 -> latent 0", checked against the model."""
    r = request
    if r.window is not None:
        from pusa.long import plan_request

        return plan_request(pipe, r).lines()
    plans = pipe.check_inputs(r.prompt, r.negative_prompt, list(r.conditions), r.num_frames, r.height, r.width,
                              r.steps, r.cfg, r.shift)
    return [plan.describe(pipe.temporal_factor) for plan in plans]


_LOADED: dict[ModelSpec, Models] = {}


def generate_video(prompt: str = "", conditions=(), *, model: str | Path | None = None,
                   loras: tuple[tuple[str | Path, float], ...] = (), device: str = "cpu",
                   callback: Callable[[dict], None] | None = None, **settings: Any) -> Generation:
    """The Python face of the request path (``pusa.generate``): the same video as ``pusa generate`` with the
    same settings. ``settings`` are :class:`Request` fields (num_frames, height, width, preset, steps, cfg,
    shift, seed, warm_start, negative_prompt, timestep_mode). Models stay loaded between calls.

        video = pusa.generate("a red disc moves left", [C.i2v(read_image("start.png"))], seed=0)
        video.frames          # [T, H, W, 3] in [0, 1]; video.request.seed is the seed used
    """
    spec = ModelSpec(model=Path(model) if model is not None else None,
                     loras=tuple((Path(p), float(a)) for p, a in loras), device=device)
    if spec not in _LOADED:
        _LOADED[spec] = Models(spec)
    unknown = set(settings) - {f for f in Request.__dataclass_fields__ if f not in ("prompt", "conditions", "vta_strength")}
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; use Request's fields")
    flat = [c for item in conditions for c in (item if isinstance(item, (list, tuple)) else [item])]
    return generate(Request(prompt=prompt, conditions=tuple(flat), **settings), _LOADED[spec], callback)
