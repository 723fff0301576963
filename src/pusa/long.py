"""Long videos from a fixed-window model: rolling per-frame schedules, any length, bounded memory.

A model's window is W latent frames (Wan: 81 pixel frames = 21 latents; Pusa-mini: 17 = 5). A longer video
of F latents is made window by window, and every window is an ordinary per-frame schedule run by
:func:`pusa.sampling.sample_euler` on the unchanged model:

- ``"chained"``: windows overlap by K latents (:func:`plan_windows`). Window w ≥ 1 takes the previous
  window's last K latents **in latent space** (never decoded and re-encoded) as conditioning frames with
  noise multiplier m (m = 0 keeps them exactly, as a :class:`~pusa.conditions.FrameCondition` at m = 0 is
  kept), through the same schedule matrix S[i, f] = m_f·σ_i; the rest of the window is free.
- ``"staggered"`` (diffusion forcing): one schedule over the whole timeline in which frame f's σ lags the
  frame before by ``lag`` steps (:func:`staggered_matrix`). A window of W latents slides along it
  (:func:`plan_staggered`): it runs the rows during which nothing outside it moves, then drops the frames
  that are finished, keeping the last K finished ones as clean context. Frames carry their partly denoised
  state from one window to the next.

Conditions sit anywhere on the long timeline (pixel frames, as everywhere in pusa): an image at pixel p lands
in latent ``latent_index(p, r)`` and in the window whose new frames hold it (:func:`place_conditions`).
Prompts can change along the video: ``prompts=[(start, end, text), …]`` in pixel frames (inclusive); each
window takes the one covering most of its new frames (the main prompt where none does).

Memory: the latents of the whole video ([1, C, F, h, w], small) plus one window's work; the video is decoded
once at the end (``decode_chunk`` latents at a time if asked, or a window's worth where the autoencoder decodes each latent
alone, as Pusa-mini's do), never inside the loop. A single window is exactly
:meth:`PusaPipeline.__call__` (same noise draws, same operations, bit for bit).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pusa.conditions import FrameCondition, Plans, SlotPlan, multipliers_from_plan, plan_conditions
from pusa.frames import check_frame_count, latent_index, num_latent_frames, pixel_range

SCHEDULES = ("chained", "staggered")
DECODE_CONTEXT = 4  # latents of left context per decode chunk

Prompts = Sequence[tuple[int, int, str]]


# --- pure planning --------------------------------------------------------------------------------------------


def plan_windows(num_latent_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Windows (start, stop) in latent frames, each ``window`` long, each overlapping the one before by
    ``overlap``. Every latent is new in exactly one window (a window's new frames start where the previous
    window stopped); the last window is moved back to end on the last latent (it then overlaps more), so
    no tail is dropped. A video that fits one window is one window."""
    f, w, k = num_latent_frames, window, overlap
    for name, value in (("num_latent_frames", f), ("window", w)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < w:
        raise ValueError(f"overlap {k!r}: must be a whole number in 0–{w - 1} (smaller than the window, {w})")
    if f <= w:
        return [(0, f)]
    out = [(0, w)]
    while out[-1][1] < f:
        start = out[-1][1] - k
        stop = start + w
        if stop > f:
            start, stop = f - w, f
        out.append((start, stop))
    return out


def default_lag(steps: int, window: int, overlap: int) -> int:
    """The smallest lag (steps between neighbouring frames) at which a window of ``window`` latents keeping
    ``overlap`` finished ones can slide: ⌈steps / (window − overlap)⌉. It costs the same model evaluations
    per new frame as the chained schedule."""
    if window - overlap < 1:
        raise ValueError(f"overlap {overlap} must be smaller than the window ({window} latents)")
    return max(1, math.ceil(steps / (window - overlap)))


def frame_delays(multipliers: torch.Tensor, lag: int) -> torch.Tensor:
    """Per latent frame, the steps it waits before it starts denoising: lag·(f − f₁), f₁ the first frame that
    moves at all (m > 0); 0 before it. Long, shape (F,)."""
    m = multipliers
    live = torch.nonzero(m > 0)
    first = int(live[0]) if len(live) else 0
    return (torch.arange(len(m)) - first).clamp(min=0) * lag


def staggered_matrix(sigmas: torch.Tensor, multipliers: torch.Tensor, lag: int) -> torch.Tensor:
    """G[i, f] = m_f·σ[clamp(i − d_f, 0, N)] with d_f from :func:`frame_delays`: frame f follows the base
    schedule ``lag`` steps behind frame f − 1. Shape (N + max d + 1, F), float32. lag = 0 is
    :func:`pusa.sampling.schedule_matrix`."""
    n = len(sigmas) - 1
    d = frame_delays(multipliers, lag)
    rows = n + int(d.max()) + 1
    idx = (torch.arange(rows)[:, None] - d[None, :]).clamp(0, n)  # (R, F)
    return sigmas.to(torch.float32)[idx] * multipliers.to(torch.float32)[None, :]


def finish_rows(multipliers: torch.Tensor, lag: int, steps: int) -> torch.Tensor:
    """The row of :func:`staggered_matrix` from which each frame no longer changes (0 for m = 0 frames)."""
    d = frame_delays(multipliers, lag)
    return torch.where(multipliers > 0, d + steps, torch.zeros_like(d))


def plan_staggered(multipliers: torch.Tensor, window: int, overlap: int, lag: int,
                   steps: int) -> list[tuple[int, int, int, int]]:
    """Segments (start, stop, row0, row1) of a window sliding along :func:`staggered_matrix`: run rows
    row0 → row1 on latents [start, stop), while every frame after the window still waits (row1 = the delay of
    the first frame after it) and every frame before it is finished. Then slide so the window begins
    ``overlap`` finished frames before the first unfinished one. The last window ends on the last latent."""
    f = len(multipliers)
    d, done = frame_delays(multipliers, lag), finish_rows(multipliers, lag, steps)
    need = default_lag(steps, min(window, f), overlap) if f > window else 0
    if lag < need:
        raise ValueError(f"lag {lag}: too small for a window of {window} latents keeping {overlap} at {steps} "
                         f"steps; use {need} or more")
    last_row = int(done.max()) if f else 0
    segments, a, row = [], 0, 0
    while True:
        b = min(a + window, f)
        if b == f:
            a = max(0, f - window)
        end = last_row if b == f else int(d[b])
        if end > row:
            segments.append((a, b, row, end))
        row = max(row, end)
        if b == f:
            return segments
        live = [g for g in range(a, b) if int(done[g]) > row]
        first_live = live[0] if live else b
        nxt = first_live - overlap
        if nxt <= a:  # cannot happen at lag >= need; a guard against an endless loop
            raise ValueError(f"lag {lag}: the window cannot slide; use a larger lag")
        a = nxt


def prompt_for(pixels: range, prompts: Prompts, default: str) -> str:
    """The text most of ``pixels`` ask for: each pixel frame takes the range holding it, or ``default`` where none
    does; ties go to the text that comes first in time."""
    counts: dict[str, int] = {}
    for p in pixels:
        text = next((t for start, end, t in prompts if start <= p <= end), default)
        counts[text] = counts.get(text, 0) + 1
    return max(counts, key=counts.get) if counts else default  # max keeps the first of equal counts


def check_prompts(prompts: Prompts, num_frames: int) -> list[tuple[int, int, str]]:
    """(start, end, text) ranges in pixel frames, inside the video and not overlapping; one ValueError line."""
    out = []
    for item in prompts:
        try:
            start, end, text = item
        except (TypeError, ValueError):
            raise ValueError(f"prompts: expected (start, end, text) items, got {item!r}") from None
        if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
            raise TypeError(f"prompts: range {start!r}-{end!r} must be whole pixel frames")
        if not isinstance(text, str):
            raise TypeError(f"prompts: range {start}-{end} needs a text, got {type(text).__name__}")
        if start < 0 or end < start or end > num_frames - 1:
            raise ValueError(f"prompts: range {start}-{end} is outside the video's frames 0-{num_frames - 1}"
                             + (" (it runs backwards)" if end < start else ""))
        out.append((start, end, text))
    out.sort(key=lambda p: p[0])
    for (s0, e0, _), (s1, e1, _) in itertools.pairwise(out):
        if s1 <= e0:
            raise ValueError(f"prompts: ranges {s0}-{e0} and {s1}-{e1} overlap")
    return out


_PROMPT_LINE = re.compile(r"^(\d+)\s*-\s*(\d+)\s*:\s*(.*\S)\s*$")


def read_prompts(path: str | Path) -> tuple[tuple[int, int, str], ...]:
    """A prompts file: one ``START-END: text`` line per range of pixel frames (inclusive); blank lines and
    lines starting with ``#`` are skipped. Returns the (start, end, text) ranges; a bad line gets one line."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, expected a text file" if path.is_dir() else "file not found"
        raise FileNotFoundError(f"--prompts {path}: {what}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as err:
        raise ValueError(f"--prompts {path}: cannot read it as UTF-8 text ({type(err).__name__})") from None
    out = []
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        m = _PROMPT_LINE.match(text)
        if not m:
            raise ValueError(f"--prompts {path} line {n}: expected 'START-END: text' in pixel frames, "
                             "e.g. '0-80: a red disc rolls left'")
        out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    if not out:
        raise ValueError(f"--prompts {path}: no 'START-END: text' lines")
    return tuple(out)


def latent_pixels(start: int, stop: int, temporal_factor: int) -> range:
    """Pixel frames of latents [start, stop)."""
    return range(pixel_range(start, temporal_factor).start, pixel_range(stop - 1, temporal_factor).stop)


def local_conditions(plans: Sequence[SlotPlan], slots: range, offset: int,
                     temporal_factor: int) -> list[tuple[int, FrameCondition]]:
    """The parts of the conditions that fall in latent ``slots``, moved into a window that begins at latent
    ``offset``: (condition index, condition at window pixel frames). A window's pixel p' = p − r·offset, so
    latent j lands in window slot j − offset (valid for slots ≥ 1 of a window, and for every slot when
    offset = 0). A condition wholly inside is passed as it is."""
    r = temporal_factor
    pixels = latent_pixels(slots.start, slots.stop, r) if len(slots) else range(0)
    out = []
    for plan in plans:
        c = plan.condition
        lo, hi = max(c.start, pixels.start), min(c.end, pixels.stop - 1)
        if lo > hi:
            continue
        if offset == 0 and (lo, hi) == (c.start, c.end):
            out.append((plan.index, c))
            continue
        out.append((plan.index, FrameCondition(c.frames[lo - c.start:hi - c.start + 1], lo - r * offset, c.noise,
                                               c.label)))
    return out


# --- the plan ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One window: latents [start, stop); the first ``overlap`` come from earlier windows (latent space),
    the rest are new here. ``rows``: the staggered schedule's rows it runs (None for chained windows)."""

    index: int
    start: int
    stop: int
    overlap: int
    prompt: str = ""
    conditions: tuple[int, ...] = ()  # indices of conditions with frames among the new latents
    rows: tuple[int, int] | None = None

    @property
    def new(self) -> range:
        return range(self.start + self.overlap, self.stop)

    def describe(self, temporal_factor: int, noise: float = 0.0) -> str:
        r = temporal_factor
        px = latent_pixels(self.start, self.stop, r)
        line = f"window {self.index}: latents {self.start}-{self.stop - 1} (pixels {px.start}-{px.stop - 1})"
        if self.rows is not None:
            line += f", schedule rows {self.rows[0]}-{self.rows[1]}"
            if self.overlap:
                line += f", carries latents {self.start}-{self.start + self.overlap - 1}"
        elif self.overlap:
            line += f", overlap latents {self.start}-{self.start + self.overlap - 1} in latent space at m={noise:g}"
        if len(self.new):
            new = latent_pixels(self.new.start, self.new.stop, r)
            line += f", new pixels {new.start}-{new.stop - 1}"
        if self.conditions:
            line += ", conditions " + ",".join(map(str, self.conditions))
        return line + (f", prompt {self.prompt!r}" if self.prompt else "")


@dataclass
class LongPlan:
    """Where everything lands: the windows, and each condition's latent slots and window."""

    windows: list[Window]
    plans: Plans
    temporal_factor: int
    schedule: str = "chained"
    noise: float = 0.0
    lag: int | None = None

    def window_of(self, slot: int) -> int:
        """The window in which latent ``slot`` is new."""
        for w in self.windows:
            if slot in w.new:
                return w.index
        raise ValueError(f"latent {slot} is in no window")

    def condition_lines(self) -> list[str]:
        out = []
        for p in self.plans:
            where = []
            for s in p.slots:
                w = self.windows[self.window_of(s)]
                where.append(f"window {w.index} slot {s - w.start}")
            places = where[0] if len(set(where)) == 1 or len(where) == 1 else f"{where[0]} … {where[-1]}"
            out.append(f"{p.describe(self.temporal_factor)} ({places})")
        return out

    def lines(self) -> list[str]:
        """One line per window, then one per condition (its latent slots and the window holding them)."""
        head = (f"{len(self.windows)} window{'s' if len(self.windows) != 1 else ''}, {self.schedule} schedule"
                + (f", lag {self.lag}" if self.lag is not None else ""))
        return [head, *(w.describe(self.temporal_factor, self.noise) for w in self.windows), *self.condition_lines()]

    def __repr__(self) -> str:
        return "\n".join(self.lines())


def plan_long(conditions: Sequence[FrameCondition], num_frames: int, temporal_factor: int, window: int,
              overlap: int, schedule: str = "chained", prompt: str = "", prompts: Prompts = (),
              noise: float = 0.0, lag: int | None = None, steps: int = 10) -> LongPlan:
    """The plan of a long video. ``window`` and ``overlap`` are pixel frames: the window r·k+1, the overlap a
    multiple of r (whole latents)."""
    r = temporal_factor
    check_frame_count(num_frames, r)
    f = num_latent_frames(num_frames, r)
    w_lat, k = window_latents(window, overlap, r)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r}: use {' or '.join(SCHEDULES)}")
    prompts = check_prompts(prompts, num_frames)
    plans = plan_conditions(conditions, num_frames, r)
    owner = {s: p.index for p in plans for s in p.slots}
    windows = []
    if schedule == "chained":
        spans = plan_windows(f, w_lat, k)
        prev = 0
        for i, (a, b) in enumerate(spans):
            over = 0 if i == 0 else prev - a
            new = range(a + over, b)
            conds = tuple(sorted({owner[s] for s in new if s in owner}))
            windows.append(Window(i, a, b, over, prompt_for(latent_pixels(new.start, new.stop, r), prompts, ""),
                                  conds))
            prev = b
        return LongPlan(windows, plans, r, schedule, noise)
    mults = _multipliers(plans, f)
    lag = default_lag(steps, w_lat, k) if lag is None else lag
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 1:
        raise ValueError(f"lag {lag!r}: must be a whole number of steps >= 1")
    prev = 0
    for i, (a, b, row0, row1) in enumerate(plan_staggered(mults, w_lat, k, lag, steps)):
        new = range(max(prev, a), b)
        conds = tuple(sorted({owner[s] for s in new if s in owner}))
        windows.append(Window(i, a, b, new.start - a, prompt_for(latent_pixels(a, b, r), prompts, ""), conds,
                              (row0, row1)))
        prev = b
    return LongPlan(windows, plans, r, schedule, noise, lag)


def default_overlap(window: int, temporal_factor: int) -> int:
    """Pixel frames neighbouring windows share by default: a quarter of the window's latents, at least one
    (Pusa-mini's 17 frames: 4; Wan's 81: 20)."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        return temporal_factor
    return temporal_factor * max(1, ((window - 1) // temporal_factor + 1) // 4)


def window_latents(window: int, overlap: int, temporal_factor: int) -> tuple[int, int]:
    """(window, overlap) in latents from pixel frames, each checked with a one-line error."""
    r = temporal_factor
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window {window!r}: must be a whole number of pixel frames, {r}·k+1")
    if (window - 1) % r:
        below = (window - 1) // r * r + 1
        raise ValueError(f"window {window}: not {r}·k+1 for this autoencoder; use {below} or {below + r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int):
        raise TypeError(f"overlap {overlap!r}: must be a whole number of pixel frames, a multiple of {r}")
    if overlap >= window:
        raise ValueError(f"overlap {overlap}: must be smaller than the window ({window} frames)")
    if overlap < r:
        raise ValueError(f"overlap {overlap}: windows must share at least one latent frame ({r} pixel frames)")
    if overlap % r:
        below = overlap // r * r
        raise ValueError(f"overlap {overlap}: must be whole latents, a multiple of {r}; use {below} or {below + r}")
    return (window - 1) // r + 1, overlap // r


def _multipliers(plans: Sequence[SlotPlan], f: int) -> torch.Tensor:
    from pusa.sampling import frame_multipliers

    return frame_multipliers(f, multipliers_from_plan(plans))


# --- the runner ------------------------------------------------------------------------------------------------


@dataclass
class LongVideo:
    """frames: [T, H, W, 3] float32 in [0, 1] (numpy); latents [1, C, F, h, w]; the plan; the first window's S."""

    frames: Any
    latents: torch.Tensor
    plan: LongPlan
    schedule: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)

    @property
    def plans(self) -> Plans:
        return self.plan.plans

    def lines(self) -> list[str]:
        return self.plan.lines()


def adain(x: torch.Tensor, ref_mean: torch.Tensor, ref_std: torch.Tensor, strength: float) -> torch.Tensor:
    """Match x's per-channel mean and std (over frames and space) to the reference's, blended by strength."""
    if strength <= 0 or x.shape[2] == 0:
        return x
    mean, std = x.mean(dim=(2, 3, 4), keepdim=True), x.std(dim=(2, 3, 4), keepdim=True).clamp_min(1e-6)
    matched = (x - mean) / std * ref_std + ref_mean
    return x + strength * (matched - x)


class _Progress:
    """The callback over all windows: global step i of num_steps, σ of every latent of the whole video."""

    def __init__(self, callback, total: int, level: torch.Tensor) -> None:
        self.callback, self.total, self.level, self.done = callback, total, level, 0

    def window(self, w: Window, a: int, b: int):
        def inner(info: dict) -> None:
            self.level[a:b] = info["sigma_next"].to(self.level)
            self.done += 1
            if self.callback is not None:
                self.callback({**info, "i": self.done - 1, "num_steps": self.total, "window": w.index,
                               "window_span": (a, b), "window_i": info["i"], "window_steps": info["num_steps"],
                               "sigma": info["sigma"], "sigma_next": self.level.clone()})
        return inner


def decode(pipe, latents: torch.Tensor, chunk: int | None = None, context: int = DECODE_CONTEXT) -> np.ndarray:
    """Latents [1, C, F, h, w] → frames [T, H, W, 3] float32 numpy; None: one call
    (:meth:`PusaPipeline.decode_latents`, exactly). ``chunk`` latents per decode call, each with ``context``
    latents before it (dropped from the output), bounds the decoder's temporaries to a chunk. Exact for
    autoencoders that decode each latent on its own (Pusa-mini's packing one); Wan's causal VAE carries a
    cache through the whole video, so its chunks differ from one decode (measured: visibly, on random
    weights): use chunks there only when one decode does not fit. Wan's decoder already runs latent by
    latent inside one call, so one decode costs the video plus a few copies of it."""
    f, r = latents.shape[2], pipe.temporal_factor
    if chunk is None or chunk >= f:
        return pipe.decode_latents(latents).cpu().numpy()[0]
    out = None
    for c0 in range(0, f, chunk):
        c1, s = min(c0 + chunk, f), max(0, c0 - context)
        video = pipe.decode_latents(latents[:, :, s:c1])[0]  # [t, H, W, 3]
        first = 0 if c0 == s else 1 + r * (c0 - s - 1)
        part = video[first:].cpu().numpy()
        if out is None:
            out = np.empty((r * (f - 1) + 1, *part.shape[1:]), np.float32)
        g0 = pixel_range(c0, r).start
        out[g0:g0 + len(part)] = part
    return out


@torch.no_grad()
def long_video(pipe, prompt: str = "", negative_prompt: str | None = None,
               conditions: Sequence[FrameCondition] = (), num_frames: int | None = None,
               height: int | None = None, width: int | None = None, num_inference_steps: int = 10,
               guidance_scale: float = 3.0, shift: float = 5.0, generator: torch.Generator | None = None,
               timestep_mode: str = "float", image_encoding: str = "hold", max_sequence_length: int | None = None,
               warm_start: float | None = None, window: int | None = None, overlap: int | None = None,
               schedule: str = "chained", noise: float = 0.0, lag: int | None = None, anti_drift: float = 0.0,
               prompts: Prompts = (), callback: Callable[[dict[str, Any]], None] | None = None,
               decode_chunk: int | None = None, output_type: str = "np") -> LongVideo:
    """Generate ``num_frames`` pixel frames (any r·k+1) with windows of ``window`` pixel frames (default: the
    model's ``default_num_frames``) overlapping by ``overlap`` pixel frames (a multiple of r; default a quarter
    of the window's latents, at least one). ``schedule``: "chained" (overlap as conditions at noise multiplier
    ``noise``) or "staggered" (frames ``lag`` steps apart; default the smallest that slides). ``anti_drift`` in
    [0, 1] matches each chained window's new latents' per-channel mean and std to the first window's (AdaIN).
    ``warm_start`` (chained): the first window as :meth:`PusaPipeline.__call__` does it; later windows start
    their free latents from the nearest conditioning latent at σ = warm_start. The callback gets the sampler's
    dict with ``i``/``num_steps`` counted over all windows and ``sigma_next`` for every latent of the video.
    Returns a :class:`LongVideo` (frames [T, H, W, 3], the latents and the plan)."""
    from pusa import conditions as C
    from pusa.flow import inference_sigmas
    from pusa.frames import vae_factors
    from pusa.sampling import frame_multipliers, noised_start, sample_euler, schedule_matrix

    cfg = pipe.config
    num_frames = num_frames or cfg.default_num_frames
    height, width = height or cfg.default_height, width or cfg.default_width
    max_sequence_length = max_sequence_length or cfg.get("max_sequence_length", 512)
    r, s = vae_factors(pipe.vae.config)
    window = window or cfg.default_num_frames
    if overlap is None:
        overlap = default_overlap(window, r)
    if not 0.0 <= float(noise) <= 1.0:
        raise ValueError(f"overlap noise {noise}: must be in [0, 1]")
    if not 0.0 <= float(anti_drift) <= 1.0:
        raise ValueError(f"anti drift {anti_drift}: must be in [0, 1]")
    if schedule == "staggered" and timestep_mode != "float":
        raise ValueError("the staggered schedule needs timestep mode 'float' (reference timesteps assume one σ_i "
                         "per step)")
    if schedule == "staggered" and anti_drift:
        raise ValueError("anti drift works with the chained schedule")
    if schedule == "staggered" and warm_start is not None:
        raise ValueError("warm start: the staggered schedule starts every frame from noise; use the chained schedule")
    if not isinstance(prompt, str):
        raise TypeError("a long video takes one prompt (a string); per-range prompts go in prompts=")
    # Checks of the whole request, as the pipeline does (the first window's geometry stands for all).
    pipe.check_inputs(prompt, negative_prompt, conditions, num_frames, height, width, num_inference_steps,
                      guidance_scale, shift)
    plan = plan_long(conditions, num_frames, r, window, overlap, schedule, prompt, prompts, noise, lag,
                     num_inference_steps)
    f = num_latent_frames(num_frames, r)
    channels = pipe.transformer.config.in_channels
    shape = (1, channels, f, height // s, width // s)
    device = pipe._device
    sigmas = inference_sigmas(num_inference_steps, shift)

    texts: dict[str, torch.Tensor] = {}

    def text_for(p: str) -> torch.Tensor:
        if p not in texts:
            texts[p] = pipe.encode_prompt([p], max_sequence_length)
        return texts[p]

    text_for(plan.windows[0].prompt or prompt)  # the order __call__ encodes in: prompt, then negative
    text_uncond = None
    if guidance_scale != 1.0:
        text_uncond = pipe.encode_prompt([negative_prompt if negative_prompt is not None else ""],
                                         max_sequence_length)

    x_all = torch.zeros(shape, dtype=torch.float32, device=device)
    level = frame_multipliers(f, multipliers_from_plan(plan.plans)).clone()  # σ of every latent, for the callback
    if schedule == "chained":
        total = len(plan.windows) * num_inference_steps
    else:
        G = staggered_matrix(sigmas, frame_multipliers(f, multipliers_from_plan(plan.plans)), plan.lag)
        rows = [_distinct_rows(G[w.rows[0]:w.rows[1] + 1, w.start:w.stop]) for w in plan.windows]
        total = sum(len(rr) - 1 for rr in rows)
    progress = _Progress(callback, total, level)
    first_S, ref = None, None

    for w in plan.windows:
        a, b = w.start, w.stop
        n_lat = b - a
        local_frames = r * (n_lat - 1) + 1
        wshape = (1, channels, n_lat, height // s, width // s)
        text = text_for(w.prompt or prompt)
        new = w.new
        conds = [c for _, c in local_conditions(plan.plans, new, a, r)]
        if schedule == "chained":
            over = w.overlap
            if w.index == 0:
                lplans = pipe.plan(conds, local_frames)
                if warm_start is not None:
                    lplans = pipe.plan(C.warm_start(conds, local_frames, r, warm_start), local_frames)
            else:
                lplans = plan_conditions(conds, local_frames, r)
            clean = pipe.encode_conditions(lplans, wshape, height, width, image_encoding)
            mults = multipliers_from_plan(lplans)
            if over:
                clean[:, :, :over] = x_all[:, :, a:a + over]
                mults.update({j: float(noise) for j in range(over)})
                if warm_start is not None:
                    _latent_warm_start(clean, mults, n_lat, warm_start)
            S = schedule_matrix(sigmas, n_lat, mults)
            eps = torch.randn(wshape, generator=generator, dtype=torch.float32).to(device)
            x = noised_start(eps, clean, S)
            model = pipe.velocity_model(text, text_uncond, guidance_scale, timestep_mode, sigmas,
                                        frame_multipliers(n_lat, mults))
            x = sample_euler(model, x, S, progress.window(w, a, b))
            if w.index == 0:
                first_S = S
                if anti_drift:
                    ref = (x.mean(dim=(2, 3, 4), keepdim=True), x.std(dim=(2, 3, 4), keepdim=True))
            elif anti_drift and ref is not None:
                x[:, :, over:] = adain(x[:, :, over:], ref[0], ref[1], anti_drift)
            x_all[:, :, a:b] = x[:, :, :]
            level[a:b] = 0.0
        else:
            # frames entering the window for the first time: their conditions and their noised start
            if len(new):
                lplans = plan_conditions(conds, local_frames, r)
                clean = pipe.encode_conditions(lplans, wshape, height, width, image_encoding)
                k0 = new.start - a
                eps = torch.randn((1, channels, len(new), height // s, width // s), generator=generator,
                                  dtype=torch.float32).to(device)
                start_row = G[w.rows[0], new.start:new.stop][None]
                x_all[:, :, new.start:new.stop] = noised_start(eps, clean[:, :, k0:], start_row)
            Sw = rows[w.index]
            mw = frame_multipliers(f, multipliers_from_plan(plan.plans))[a:b]
            model = pipe.velocity_model(text, text_uncond, guidance_scale, timestep_mode, sigmas, mw)
            x = sample_euler(model, x_all[:, :, a:b].clone(), Sw, progress.window(w, a, b))
            x_all[:, :, a:b] = x
            if first_S is None:
                first_S = Sw

    if output_type == "latent":
        frames = x_all
    else:
        context = DECODE_CONTEXT
        if decode_chunk is None and getattr(pipe.vae, "decodes_each_latent_alone", False):
            # Exact with one latent of context (it takes the first-frame role and is dropped), and no call
            # decodes more latents than a one-window video does: a window's worth of memory.
            decode_chunk, context = max(1, max(w.stop - w.start for w in plan.windows) - 1), 1
        frames = decode(pipe, x_all, decode_chunk, context)
    pipe.maybe_free_model_hooks()
    return LongVideo(frames, x_all, plan, first_S)


def _distinct_rows(S: torch.Tensor) -> torch.Tensor:
    """S without rows equal to the row before (a step that moves no frame; dropping it changes nothing)."""
    keep = [0] + [i for i in range(1, S.shape[0]) if not torch.equal(S[i], S[i - 1])]
    return S[keep]


def _latent_warm_start(clean: torch.Tensor, mults: dict[int, float], n_lat: int, strength: float) -> None:
    """Free latents start from the nearest conditioning latent (ties: the earlier) at σ = strength, in place."""
    given = sorted(mults)
    for j in range(n_lat):
        if j in mults:
            continue
        src = min(given, key=lambda g: (abs(g - j), g))
        clean[:, :, j] = clean[:, :, src]
        mults[j] = float(strength)


# --- the request path (pusa.request) ----------------------------------------------------------------------------


def validate_long(request) -> None:
    """The long-video fields of a :class:`pusa.request.Request`, checked without a model (one line each)."""
    from pusa.checks import number as _number
    from pusa.checks import whole as _whole

    r = request
    for name, value, low in (("window", r.window, 1), ("overlap", r.overlap, 0), ("lag", r.lag, 1)):
        if value is not None:
            _whole(name, value, low, 100_000)
    for name, value in (("overlap noise", r.overlap_noise), ("anti drift", r.anti_drift)):
        if value is not None:
            _number(name, value, 0.0, 1.0)
    if r.schedule is not None and r.schedule not in SCHEDULES:
        raise ValueError(f"schedule {r.schedule!r}: use {' or '.join(SCHEDULES)}")
    if not isinstance(r.prompts, (tuple, list)):
        raise TypeError("prompts must be (start, end, text) ranges")


def resolve_long(resolved, request, default_window: int, rules, temporal_factor: int):
    """The long-video fields of a resolved request (``resolved``; ``request`` as given): window, overlap and
    schedule filled and checked against the video, the prompt ranges checked. With more than one window every
    window after the first is conditioned on its overlap, so the model's conditioned-task rules apply (VTA LoRA
    on, its warm start for the chained schedule); the staggered schedule starts every frame from noise."""
    from dataclasses import replace

    r, frames = temporal_factor, resolved.num_frames
    window = request.window if request.window is not None else default_window
    overlap = request.overlap if request.overlap is not None else default_overlap(window, r)
    w_lat, k = window_latents(window, overlap, r)
    schedule = request.schedule or "chained"
    prompts = tuple(check_prompts(request.prompts, frames))
    several = num_latent_frames(frames, r) > w_lat
    warm, strength, lag = resolved.warm_start, resolved.vta_strength, None
    if several and request.vta_strength is None and rules.t2v_vta_strength is not None:
        strength = 1.0
    if schedule == "staggered":
        need = default_lag(resolved.steps, w_lat, k)
        lag = request.lag if request.lag is not None else need
        if several and lag < need:
            raise ValueError(f"lag {lag}: too small for a window of {w_lat} latents keeping {k} at "
                             f"{resolved.steps} steps; use {need} or more")
        if resolved.timestep_mode != "float":
            raise ValueError("timestep mode 'reference' assumes one σ_i per step; the staggered schedule needs "
                             "'float'")
        if request.anti_drift:
            raise ValueError("anti drift: works with the chained schedule; drop it or use --schedule chained")
        if request.warm_start not in (None, 1.0):
            raise ValueError("warm start: the staggered schedule starts every frame from noise; drop it or use "
                             "the chained schedule")
        warm = None
    else:
        if request.lag is not None:
            raise ValueError("lag: only the staggered schedule has one; drop it or use --schedule staggered")
        if several and request.warm_start is None:
            warm = rules.warm_start
    noise = request.overlap_noise
    if noise is None:  # the model's rule applies to the chained schedule, where it was measured
        noise = rules.overlap_noise if schedule == "chained" and rules.overlap_noise is not None else 0.0
    return replace(resolved, window=window, overlap=overlap, schedule=schedule, lag=lag, prompts=prompts,
                   overlap_noise=noise,
                   anti_drift=request.anti_drift if request.anti_drift is not None else 0.0,
                   warm_start=warm, vta_strength=strength)


def _long_kwargs(r) -> dict[str, Any]:
    return {"window": r.window, "overlap": r.overlap, "schedule": r.schedule, "noise": r.overlap_noise or 0.0,
            "lag": r.lag, "anti_drift": r.anti_drift or 0.0, "prompts": tuple(r.prompts)}


def plan_request(pipe, r) -> LongPlan:
    """The plan of a resolved long request on ``pipe`` (every input checked as the run will)."""
    pipe.check_inputs(r.prompt, r.negative_prompt, list(r.conditions), r.num_frames, r.height, r.width, r.steps,
                      r.cfg, r.shift)
    kw = _long_kwargs(r)
    return plan_long(list(r.conditions), r.num_frames, pipe.temporal_factor, kw["window"], kw["overlap"],
                     kw["schedule"], r.prompt, kw["prompts"], kw["noise"], kw["lag"], r.steps)


def run_long(pipe, r, callback: Callable[[dict[str, Any]], None] | None = None):
    """Sample a resolved long request (:func:`pusa.request.run` sends those here and wraps the result)."""
    video = long_video(pipe, r.prompt, negative_prompt=r.negative_prompt, conditions=list(r.conditions),
                       num_frames=r.num_frames, height=r.height, width=r.width, num_inference_steps=r.steps,
                       guidance_scale=r.cfg, shift=r.shift, generator=torch.Generator().manual_seed(r.seed),
                       timestep_mode=r.timestep_mode, warm_start=None if r.warm_start in (None, 1.0) else r.warm_start,
                       callback=callback, **_long_kwargs(r))
    return video


def is_long(num_frames: int, default_window: int, window: int | None = None, **options: Any) -> bool:
    """Whether a request goes through :func:`long_video`: more frames than the model's window, or any of the
    long-video options given (``window``, ``overlap``, ``schedule``, …; None means not given)."""
    return window is not None or num_frames > default_window or any(v is not None for v in options.values())


def pixel_window_of(pixel_frame: int, plan: LongPlan) -> tuple[int, int]:
    """(window, slot in that window) of a pixel frame of the long video."""
    j = latent_index(pixel_frame, plan.temporal_factor)
    w = plan.windows[plan.window_of(j)]
    return w.index, j - w.start
