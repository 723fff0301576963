"""Ground-truth metrics for world videos, computed from frames by tracking the known colours.

| metric                 | value                                  | better |
|------------------------|----------------------------------------|--------|
| conditioning_fidelity  | mean PSNR (dB) at the conditioned frames | higher |
| background_error       | RGB distance from the known background  | lower  |
| subject_consistency    | colour · size · shape agreement, 0–1    | higher |
| trajectory_error       | px from the restarted simulator         | lower  |
| start_end_adherence    | px from the start/end objects           | lower  |
| seam_continuity        | px from the motion continued at a seam  | lower  |
| caption_adherence      | colour/shape/direction accuracy, 0–1    | higher |
| direction_error        | degrees from the captioned direction    | lower  |
| aligned_shape_iou      | per-frame mask IoU with a given frame's | higher |
| motion_smoothness      | 0–1 from second differences             | higher |
| dynamic_degree         | fraction of frame pairs with motion     | higher |
| temporal_flicker       | 0–1 brightness steadiness               | higher |

`colours` arguments take palette names (Clip.colours) or RGB triples; `background` takes the known
background (Clip.background) or None for a temporal-median estimate.
"""

from pusa.world.metrics.frames import background_error, conditioning_fidelity, start_end_adherence, temporal_flicker
from pusa.world.metrics.motion import (
    dynamic_degree,
    estimate_states,
    motion_smoothness,
    seam_continuity,
    trajectory_error,
)
from pusa.world.metrics.score import PSNR_CAP, Score, psnr
from pusa.world.metrics.subject import aligned_shape_iou, caption_adherence, direction_error, subject_consistency

__all__ = [
    "PSNR_CAP", "Score", "aligned_shape_iou", "background_error", "caption_adherence", "conditioning_fidelity", "direction_error",
    "dynamic_degree", "estimate_states", "motion_smoothness", "psnr", "seam_continuity", "start_end_adherence",
    "subject_consistency", "temporal_flicker", "trajectory_error",
]
