"""Sampler presets: the steps, CFG and shift a preset name stands for.

"fast" is for stacking a 4-step distillation LoRA (e.g. Wan2.2-Lightning): 4 steps at t = 1000, 937.5,
833.3, 625, no CFG. Without such a LoRA it gives blurry videos (``pusa generate`` says so).
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "default": {"num_inference_steps": 10, "guidance_scale": 3.0, "shift": 5.0},
    "fast": {"num_inference_steps": 4, "guidance_scale": 1.0, "shift": 5.0},
}
