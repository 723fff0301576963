"""The per-frame timeline: which latent slot each condition lands in, and how noisy every slot is.

Pure functions (no gradio, no torch). Before sampling a slot's level is its noise multiplier m
(S[0, f] = m·σ_0 with σ_0 = 1); during sampling it is the sampler's σ per latent frame, S[i + 1, f]
after step i (see ``pusa.sampling``). ``timeline_html`` draws one cell per latent slot, as wide as
the pixel frames it covers (latent 0 holds pixel 0 alone, every later one r frames).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from pusa.frames import num_latent_frames, pixel_range


@dataclass(frozen=True)
class Slot:
    """One latent frame: the pixel frames it covers, the condition in it ("" if free) and its m."""

    index: int
    pixels: range
    label: str = ""
    multiplier: float = 1.0

    @property
    def pixel_span(self) -> str:
        return f"{self.pixels[0]}" if len(self.pixels) == 1 else f"{self.pixels[0]}–{self.pixels[-1]}"


def slots(plans: Sequence, num_frames: int, temporal_factor: int) -> list[Slot]:
    """Every latent slot of an ``num_frames`` clip, with the condition (from ``SlotPlan``s) that owns it."""
    owner = {s: p for p in plans for s in p.slots}
    out = []
    for j in range(num_latent_frames(num_frames, temporal_factor)):
        plan = owner.get(j)
        label = (plan.condition.label or f"condition {plan.index}") if plan else ""
        out.append(Slot(j, pixel_range(j, temporal_factor), label, plan.condition.noise if plan else 1.0))
    return out


def noise_levels(slot_list: Sequence[Slot], sigma_row: Sequence[float] | None = None) -> list[float]:
    """The level drawn for each slot: σ_f from the sampler when given, else the multiplier m."""
    if sigma_row is None:
        return [s.multiplier for s in slot_list]
    levels = [float(x) for x in sigma_row]
    if len(levels) != len(slot_list):
        raise ValueError(f"sigma_row has {len(levels)} values for {len(slot_list)} latent slots")
    return levels


def _cell(slot: Slot, level: float, during: bool) -> str:
    clean = 1.0 - min(max(level, 0.0), 1.0)
    # colour runs from grey noise (level 1) to green clean (level 0)
    r, g, b = (int(a + (c - a) * clean) for a, c in ((120, 46), (120, 160), (130, 90)))
    value = f"σ={level:.3g}" if during else f"m={level:.3g}"
    title = html.escape(slot.label) if slot.label else "free"
    return (f'<div class="pusa-slot" style="flex:{len(slot.pixels)} 1 0;min-width:3.2em;background:rgb({r},{g},{b});'
            f'color:#fff;border:{"3px solid #f5c518" if slot.label else "1px solid #333"};padding:4px;'
            f'font:12px/1.3 monospace;overflow:hidden" title="{title}">'
            f"<b>latent {slot.index}</b><br>px {slot.pixel_span}<br>{title}<br>{value}</div>")


def timeline_html(slot_list: Sequence[Slot], sigma_row: Sequence[float] | None = None, step: int | None = None,
                  num_steps: int | None = None) -> str:
    """HTML strip of the latent slots. Without ``sigma_row``: the plan (m per slot); with it: step ``step``'s σ."""
    during = sigma_row is not None
    levels = noise_levels(slot_list, sigma_row)
    head = (f"sampling: step {step}/{num_steps}, noise level σ per latent frame" if during else
            "plan: latent slot of each condition and its noise multiplier m (yellow border = conditioned; "
            "m = 0 stays exactly clean, 1 = free)")
    cells = "".join(_cell(s, lv, during) for s, lv in zip(slot_list, levels))
    return (f'<div class="pusa-timeline"><div style="font:13px sans-serif;margin-bottom:4px">{html.escape(head)}</div>'
            f'<div style="display:flex;gap:2px">{cells}</div></div>')


def message_html(text: str) -> str:
    """A one-line note in the timeline's place (e.g. why the plan is not valid yet)."""
    return f'<div class="pusa-timeline" style="font:13px sans-serif;color:#b3261e">{html.escape(text)}</div>'
