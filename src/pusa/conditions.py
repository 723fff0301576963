"""Frame conditions and the task helpers: every Pusa task is a list of FrameConditions.

A FrameCondition puts one image or a run of video frames at a pixel frame of the output and gives
them a noise multiplier m ∈ [0, 1]: m = 0 keeps them exactly (the model only fills in the rest),
larger m lets the model rework them (m = 1 is the same as not conditioning). The pipeline maps the
pixel frames to latent slots with the autoencoder's temporal factor (see ``pusa.frames``) and
reports the slots it used.

Default pixel counts in the helpers (13-frame prefix, 9/12-frame transition ends) match Wan's
temporal factor r = 4 and the 81-frame geometry of the paper (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pusa.frames import latent_slots, num_latent_frames, pixel_range


def to_frames(data: Any) -> torch.Tensor:
    """Normalise an image or video to float32 [T, H, W, 3] in [0, 1].

    Accepts a PIL image, a list of PIL images, or arrays/tensors [H, W, 3] or [T, H, W, 3]
    (uint8 in 0…255 or float in 0…1). Grayscale and RGBA PIL images are converted to RGB.
    """
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("a condition needs at least one frame, got an empty list")
        return torch.cat([to_frames(d) for d in data])
    if hasattr(data, "convert") and hasattr(data, "size"):  # PIL.Image without importing PIL
        data = np.asarray(data.convert("RGB"))
    x = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.array(data))
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"frames must have shape [H, W, 3] or [T, H, W, 3], got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    x = x.float()
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("float frames must lie in [0, 1]; pass uint8 for 0…255 values")
    return x


@dataclass(frozen=True, eq=False)
class FrameCondition:
    """An image or frames placed at pixel frame ``start`` with noise multiplier ``noise`` (m).

    ``frames`` is anything :func:`to_frames` accepts; it is stored as float32 [T, H, W, 3] in [0, 1].
    Conditions compare by value (frames, start, noise; not the label) and are not hashable.
    """

    frames: Any
    start: int = 0
    noise: float = 0.0
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", to_frames(self.frames))
        if isinstance(self.start, bool) or not isinstance(self.start, (int, np.integer)) or self.start < 0:
            raise ValueError(f"condition start must be a pixel frame index >= 0, got {self.start!r}")
        if not 0.0 <= float(self.noise) <= 1.0:
            raise ValueError(f"condition noise multiplier must be in [0, 1], got {self.noise}")
        object.__setattr__(self, "start", int(self.start))
        object.__setattr__(self, "noise", float(self.noise))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrameCondition):
            return NotImplemented
        return (self.start, self.noise) == (other.start, other.noise) and self.frames.shape == other.frames.shape \
            and bool(torch.equal(self.frames, other.frames))

    __hash__ = None  # type: ignore[assignment]

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def end(self) -> int:
        """Last pixel frame covered (inclusive)."""
        return self.start + self.num_frames - 1

    def describe(self) -> str:
        what = self.label or ("image" if self.num_frames == 1 else f"{self.num_frames} frames")
        span = f"{self.start}" if self.num_frames == 1 else f"{self.start}-{self.end}"
        return f"{what} @ pixel {span}, m={self.noise:g}"

    def __repr__(self) -> str:  # the frames by shape, never the tensor
        return f"FrameCondition({self.describe()}, frames {list(self.frames.shape)})"


@dataclass(frozen=True)
class SlotPlan:
    """Where one condition lands: its latent slots and the pixel frames they cover."""

    index: int
    condition: FrameCondition
    slots: tuple[int, ...]

    def describe(self, temporal_factor: int | None = None) -> str:
        """One line, e.g. ``condition 0: image @ pixel 0, m=0.2 -> latent 0``. It needs no temporal factor
        (the condition names its pixel frames, ``slots`` the latents); the argument is accepted and unused."""
        slots = f"{self.slots[0]}" if len(self.slots) == 1 else f"{self.slots[0]}-{self.slots[-1]}"
        return f"condition {self.index}: {self.condition.describe()} -> latent {slots}"

    def __repr__(self) -> str:
        return self.describe()


class Plans(list):
    """The SlotPlans of one call, in condition order: a list that prints one line per condition."""

    def __repr__(self) -> str:
        return "\n".join(map(repr, self)) if self else "no conditions"


def plan_conditions(
    conditions: Sequence[FrameCondition], num_frames: int, temporal_factor: int
) -> Plans:
    """Map each condition to the latent slots its pixel frames touch; reject overlaps and overruns."""
    plans, owner = Plans(), {}
    for i, cond in enumerate(conditions):
        if not isinstance(cond, FrameCondition):
            raise TypeError(f"conditions[{i}] must be a FrameCondition, got {type(cond).__name__}")
        if cond.end > num_frames - 1:
            raise ValueError(
                f"condition {i} ({cond.describe()}) reaches pixel frame {cond.end}, "
                f"but the video has frames 0-{num_frames - 1}"
            )
        slots = tuple(latent_slots(cond.start, cond.num_frames, temporal_factor))
        for s in slots:
            if s in owner:
                raise ValueError(
                    f"conditions {owner[s]} and {i} both land in latent slot {s} "
                    f"(each latent holds {temporal_factor} pixel frames); move one of them"
                )
            owner[s] = i
        plans.append(SlotPlan(i, cond, slots))
    return plans


def multipliers_from_plan(plans: Sequence[SlotPlan]) -> dict[int, float]:
    """Latent slot → noise multiplier m, for ``pusa.sampling.schedule_matrix``."""
    return {s: p.condition.noise for p in plans for s in p.slots}


def canvas(cond: FrameCondition, temporal_factor: int) -> tuple[torch.Tensor, int]:
    """The clip to encode for a condition: pixels 0 … end of its last slot, [T, H, W, 3].

    The condition's frames sit at their own positions; frames before them repeat the first one and
    frames after them repeat the last one ("hold"), so a causal encoder sees a plausible history and
    every slot the condition touches is a full group. Returns the clip and the first slot to copy.
    """
    slots = latent_slots(cond.start, cond.num_frames, temporal_factor)
    length = slots[-1] * temporal_factor + 1
    pos = torch.arange(length).clamp(cond.start, cond.end) - cond.start
    return cond.frames[pos], slots[0]


def fit_frames(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Centre-crop to the target aspect ratio, then resize (antialiased): [T, H, W, 3] → [T, height, width, 3]."""
    _, h, w, _ = frames.shape
    if (h, w) == (height, width):
        return frames
    scale = max(height / h, width / w)
    crop_h, crop_w = min(h, round(height / scale)), min(w, round(width / scale))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    x = frames[:, top:top + crop_h, left:left + crop_w].permute(0, 3, 1, 2)  # [T, 3, h, w]
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(0, 1).permute(0, 2, 3, 1)


WARM_START_LABEL = "warm start"  # the label of the conditions :func:`warm_start` adds (not given by the user)


def warm_start(conditions: Sequence[FrameCondition], num_frames: int, temporal_factor: int,
               strength: float) -> list[FrameCondition]:
    """The conditions plus a start for the free latent slots: each free pixel frame holds the nearest given
    pixel frame (ties: the earlier one), at noise multiplier m = ``strength``.

    Free slots then start from those frames noised to σ = m instead of from pure noise (σ = 1) and
    follow m·σ_i, as SDEdit starts an edit from a noised image; the model still draws every free
    frame. One condition covers each run of consecutive free slots, so a causal autoencoder encodes
    a run once. With no conditions (text-to-video) nothing changes. Frames of other sizes than the
    first condition's are fitted to it (centre crop and resize).
    """
    if not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"warm start strength must be in (0, 1] (the σ free frames start from), got {strength}")
    plans = plan_conditions(conditions, num_frames, temporal_factor)
    if not plans:
        return list(conditions)
    taken = {s for p in plans for s in p.slots}
    height, width = plans[0].condition.frames.shape[1:3]
    given = {p.condition.start + k: (p.index, k) for p in plans for k in range(p.condition.num_frames)}
    fitted = [fit_frames(c.frames, height, width) for c in conditions]
    runs: list[list[int]] = []  # consecutive free slots
    for slot in range(num_latent_frames(num_frames, temporal_factor)):
        if slot not in taken:
            if runs and runs[-1][-1] == slot - 1:
                runs[-1].append(slot)
            else:
                runs.append([slot])
    out = list(conditions)
    for run in runs:
        pixels = range(pixel_range(run[0], temporal_factor).start, pixel_range(run[-1], temporal_factor).stop)
        nearest = [min(given, key=lambda g: (abs(g - t), g)) for t in pixels]
        frames = torch.stack([fitted[given[g][0]][given[g][1]] for g in nearest])
        out.append(FrameCondition(frames, pixels.start, float(strength), WARM_START_LABEL))
    return out


# --- task helpers -------------------------------------------------------------------------------


def t2v() -> list[FrameCondition]:
    """Text-to-video: no conditions."""
    return []


def i2v(image: Any, noise: float = 0.0) -> list[FrameCondition]:
    """Image-to-video: the image at pixel 0 → latent 0. The reference UI uses noise 0.2."""
    return [FrameCondition(image, 0, noise, "image")]


def start_end(start_image: Any, end_image: Any, num_frames: int, start_noise: float = 0.0,
              end_noise: float = 0.0) -> list[FrameCondition]:
    """First and last frame: pixel 0 → latent 0, pixel n−1 → the last latent (80 → 20 at 81 frames)."""
    return [FrameCondition(start_image, 0, start_noise, "start"),
            FrameCondition(end_image, num_frames - 1, end_noise, "end")]


def keyframes(images: Mapping[int, Any], noise: float | Mapping[int, float] = 0.0) -> list[FrameCondition]:
    """Images at any pixel frames; ``noise`` is one multiplier or one per pixel frame."""
    def m(p: int) -> float:
        return noise.get(p, 0.0) if isinstance(noise, Mapping) else noise
    return [FrameCondition(img, p, m(p), f"keyframe {p}") for p, img in sorted(images.items())]


def extend(video: Any, keep: int = 13, noise: float = 0.0) -> list[FrameCondition]:
    """Video extension: the first ``keep`` frames of a video (13 → latents 0–3 at r = 4)."""
    frames = to_frames(video)
    if not 1 <= keep <= len(frames):
        raise ValueError(f"keep must be between 1 and the video's {len(frames)} frames, got {keep}")
    return [FrameCondition(frames[:keep], 0, noise, "prefix")]


def complete(video: Any, head: int = 1, tail: int = 4, noise: float = 0.0) -> list[FrameCondition]:
    """Video completion: keep the first ``head`` and last ``tail`` frames of a video, regenerate the middle.

    With an 81-frame video: frame 0 → latent 0 and frames 77–80 → latent 20.
    """
    frames = to_frames(video)
    n = len(frames)
    if head < 1 or tail < 1 or head + tail > n:
        raise ValueError(f"head={head} and tail={tail} must be >= 1 and fit in the video's {n} frames")
    return [FrameCondition(frames[:head], 0, noise, "head"), FrameCondition(frames[n - tail:], n - tail, noise, "tail")]


def transition(video_a: Any, video_b: Any, num_frames: int, tail: int = 9, head: int = 12,
               noise: float = 0.0) -> list[FrameCondition]:
    """Transition: the last ``tail`` frames of A open the clip, the first ``head`` frames of B close it.

    At 81 frames and r = 4 the defaults give latents 0–2 and 18–20.
    """
    a, b = to_frames(video_a), to_frames(video_b)
    if not 1 <= tail <= len(a) or not 1 <= head <= len(b):
        raise ValueError(f"tail={tail} must fit video A ({len(a)} frames), head={head} video B ({len(b)} frames)")
    return [FrameCondition(a[len(a) - tail:], 0, noise, "end of A"),
            FrameCondition(b[:head], num_frames - head, noise, "start of B")]


def v2v(video: Any, noise: float = 0.5) -> list[FrameCondition]:
    """Video-to-video: the whole video at noise m (0.3–0.7 edits more or less of it)."""
    return [FrameCondition(video, 0, noise, "video")]
