"""The Gradio app of ``pusa ui``: one tab per task, shared controls, the per-frame timeline, outputs.

Every tab's button is also an API endpoint (``/t2v``, ``/i2v``, ``/start_end``, ``/keyframes``,
``/video``, ``/v2v``) taking the tab's inputs, then the shared controls in ``COMMON`` order.
``?tab=i2v`` in the URL opens a tab. Bad input becomes a ``gr.Error`` with one line, never a traceback.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a local tool

import gradio as gr  # noqa: E402

from pusa.io import MediaError  # noqa: E402
from pusa.ui.studio import IMAGE_INPUTS, VIDEO_INPUTS, Studio  # noqa: E402
from pusa.ui.tasks import NUM_KEYFRAMES  # noqa: E402
from pusa.ui.timeline import message_html, noise_levels, slots, timeline_html  # noqa: E402
from pusa.ui.uploads import MAX_VIDEO_BYTES, UploadError, check_image  # noqa: E402

logger = logging.getLogger(__name__)

COMMON = ("prompt", "negative_prompt", "seed", "preset", "steps", "cfg", "shift", "lora_strength", "frames",
          "height", "width", "warm_start")  # new controls go last, so API clients' argument order holds
TABS = {  # tab id → (title, its own inputs)
    "t2v": ("Text → video", ()),
    "i2v": ("Image → video", ("i2v_image", "i2v_noise")),
    "start_end": ("Start–end", ("se_first", "se_first_noise", "se_last", "se_last_noise")),
    "keyframes": ("Keyframes", tuple(f"kf_{x}_{k}" for k in range(NUM_KEYFRAMES) for x in ("image", "frame", "noise"))),
    "video": ("Extend / complete / transition", ("video_mode", "video_a", "video_b", "ext_keep", "cmp_head",
                                                  "cmp_tail", "tr_tail", "tr_head", "video_noise")),
    "v2v": ("Video → video", ("v2v_video", "v2v_noise")),
}
USER_ERRORS = (ValueError, MediaError, UploadError, FileNotFoundError, FileExistsError)


class CheckedImage(gr.Image):
    """gr.Image whose upload is type-checked with Pillow; a non-image gets a one-line message."""

    is_template = True  # render with the stock Image frontend

    def preprocess(self, payload):
        if payload is not None and payload.path:
            try:
                check_image(payload.path, self.label or "image")
            except UploadError as err:
                raise gr.Error(str(err), print_exception=False) from None
        return super().preprocess(payload)


def _task(tab: str, values: dict) -> str:
    return (values.get("video_mode") or "extend") if tab == "video" else tab


def _uploads(values: dict) -> dict:
    return {k: values.get(k) for k in (*IMAGE_INPUTS, *VIDEO_INPUTS) if values.get(k)}


def _error(err: Exception) -> gr.Error:
    if isinstance(err, USER_ERRORS):
        return gr.Error(str(err).splitlines()[0] if str(err) else type(err).__name__, print_exception=False)
    logger.exception("generation failed")  # the traceback goes to the server log, not the page
    return gr.Error(f"generation failed ({type(err).__name__}); see the server log", print_exception=False)


def generate_events(studio: Studio, tab: str, values: dict):
    """Yield (timeline, status, video, sheet, command) while a job runs; raises gr.Error on bad input."""
    try:
        job = studio.prepare(_task(tab, values), values, _uploads(values))
    except Exception as err:
        raise _error(err) from None
    s = job.settings
    planned = slots(job.plans, s["frames"], studio.temporal_factor)
    yield timeline_html(planned), f"queued: {job.run_dir.name}", None, None, job.command
    steps, result = queue.Queue(), {}

    def work():
        try:
            result["out"] = studio.run(job, callback=lambda info: steps.put(
                (info["i"] + 1, info["num_steps"], info["sigma_next"].tolist())))
        except Exception as err:  # handed to the page below
            result["err"] = err
        finally:
            steps.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (step := steps.get()) is not None:
        done, total, sigma = step  # sigma: S[i + 1], each latent frame's noise level after this step
        yield (timeline_html(planned, noise_levels(planned, sigma), done, total),
               f"sampling: step {done}/{total}", gr.skip(), gr.skip(), gr.skip())
    if "err" in result:
        raise _error(result["err"])
    out = result["out"]
    yield (timeline_html(planned, [0.0] * len(planned), s["steps"], s["steps"]),
           f"done: `{out.video}`", str(out.video), str(out.sheet), out.command)


def _controls(studio: Studio, c: dict) -> None:
    from pusa.pipeline import PRESETS

    cfg, r, mult = studio.pipe.config, studio.temporal_factor, studio.size_multiple
    preset = PRESETS["default"]
    c["preset"] = gr.Dropdown(list(PRESETS), value="default", label="preset")
    with gr.Row():
        c["seed"] = gr.Number(value=None, precision=0, minimum=0, label="seed (empty: random)")
        c["random_seed"] = gr.Button("random seed", size="sm")
    c["steps"] = gr.Slider(1, 50, value=preset["num_inference_steps"], step=1, label="steps")
    c["cfg"] = gr.Slider(0, 10, value=preset["guidance_scale"], step=0.5, label="CFG (1 = off)")
    c["shift"] = gr.Slider(0.5, 12, value=preset["shift"], step=0.5, label="shift")
    c["warm_start"] = gr.Slider(0.05, 1, value=studio.warm_start, step=0.05,
                                label="warm start σ: generated frames start from the given ones (1 = off, pure noise)")
    c["lora_strength"] = gr.Slider(0, 2, value=1.0, step=0.05, interactive=studio.lora_name is not None,
                                   label=f"LoRA strength ({studio.lora.name if studio.lora else 'no --lora loaded'})")
    c["frames"] = gr.Slider(1, r * 10 * ((cfg.default_num_frames - 1) // r or 4) + 1, value=cfg.default_num_frames,
                            step=r, label=f"frames ({r}·k+1; over {cfg.default_num_frames}: a long video, made "
                                          "window by window as `pusa generate --frames` does, docs/long_video.md)")
    with gr.Row():
        c["height"] = gr.Slider(mult, 2 * cfg.default_height, value=cfg.default_height, step=mult, label="height")
        c["width"] = gr.Slider(mult, 2 * cfg.default_width, value=cfg.default_width, step=mult, label="width")


def _noise(value: float, label: str = "noise multiplier m (0 = keep exactly)") -> gr.Slider:
    return gr.Slider(0, 1, value=value, step=0.05, label=label)


def _tab_inputs(tab: str, c: dict, n: int) -> None:
    if tab == "t2v":
        gr.Markdown("No conditions: every latent frame starts as noise (m = 1).")
    elif tab == "i2v":
        c["i2v_image"] = CheckedImage(type="filepath", label="first frame (pixel 0)", height=240)
        c["i2v_noise"] = _noise(0.0)
    elif tab == "start_end":
        with gr.Row():
            c["se_first"] = CheckedImage(type="filepath", label="first frame", height=240)
            c["se_last"] = CheckedImage(type="filepath", label="last frame", height=240)
        with gr.Row():
            c["se_first_noise"], c["se_last_noise"] = _noise(0.0, "m first"), _noise(0.0, "m last")
    elif tab == "keyframes":
        gr.Markdown("Images at chosen **pixel** frames; each lands in latent ceil(p / r). Empty rows are skipped.")
        for k in range(NUM_KEYFRAMES):
            with gr.Row():
                c[f"kf_image_{k}"] = CheckedImage(type="filepath", label=f"keyframe {k + 1}", height=140)
                c[f"kf_frame_{k}"] = gr.Number(value=round(k * (n - 1) / (NUM_KEYFRAMES - 1)), precision=0,
                                               label="pixel frame")
                c[f"kf_noise_{k}"] = _noise(0.0, "m")
    elif tab == "video":
        c["video_mode"] = gr.Radio(["extend", "complete", "transition"], value="extend", label="task")
        with gr.Row():
            c["video_a"] = gr.Video(label="video (A for transition)", sources=["upload"], height=240)
            c["video_b"] = gr.Video(label="video B (transition only)", sources=["upload"], height=240)
        with gr.Row():
            c["ext_keep"] = gr.Number(value=min(13, n), precision=0, label="extend: first frames kept")
            c["cmp_head"] = gr.Number(value=1, precision=0, label="complete: first frames kept")
            c["cmp_tail"] = gr.Number(value=4, precision=0, label="complete: last frames kept")
        with gr.Row():
            c["tr_tail"] = gr.Number(value=min(9, n // 2), precision=0, label="transition: last frames of A")
            c["tr_head"] = gr.Number(value=min(12, n // 2), precision=0, label="transition: first frames of B")
        c["video_noise"] = _noise(0.0)
    elif tab == "v2v":
        c["v2v_video"] = gr.Video(label="video", sources=["upload"], height=240)
        c["v2v_noise"] = _noise(0.5, "noise multiplier m (0.3–0.7: how much to rework)")


def build_app(studio: Studio) -> gr.Blocks:
    """The Blocks app over a Studio (not launched)."""
    c: dict = {}
    buttons = {}
    with gr.Blocks(title="pusa") as demo:
        gr.Markdown("## pusa: one video model, every task — each latent frame gets its own noise level")
        task_state = gr.State("t2v")
        with gr.Row():
            with gr.Column(scale=5):
                c["prompt"] = gr.Textbox(label="prompt", value="a red circle moves left and bounces off the wall")
                c["negative_prompt"] = gr.Textbox(label="negative prompt (used when CFG ≠ 1)", value="")
                with gr.Tabs() as tabs:
                    for tab, (title, _) in TABS.items():
                        with gr.Tab(title, id=tab) as tab_block:
                            _tab_inputs(tab, c, studio.pipe.config.default_num_frames)
                            buttons[tab] = gr.Button("Generate", variant="primary")
                        tab_block.select(lambda t=tab: t, outputs=task_state, api_visibility="private")
            with gr.Column(scale=2, min_width=260):
                _controls(studio, c)
        timeline = gr.HTML(label="per-frame timeline")
        status = gr.Markdown()
        with gr.Row():
            video_out = gr.Video(label="video", interactive=False, height=360)
            sheet_out = gr.Image(label="contact sheet (yellow = conditioned frames)", interactive=False, height=360)
        command_out = gr.Textbox(label="equivalent `pusa generate` command", lines=2, max_lines=8, interactive=False,
                                 buttons=["copy"], elem_classes=["pusa-command"])
        outputs = [timeline, status, video_out, sheet_out, command_out]

        for tab, (_, own) in TABS.items():
            names = (*own, *COMMON)
            buttons[tab].click(_generate_fn(studio, tab, names), [c[n] for n in names], outputs, api_name=tab,
                               concurrency_id="generate", concurrency_limit=1)
        everything = [k for k in c if k != "random_seed"]
        preview = _preview_fn(studio, everything)
        for name in everything:
            if name not in ("prompt", "negative_prompt", "seed", "steps", "cfg", "shift", "warm_start", "lora_strength",
                            "preset"):
                c[name].change(preview, [task_state, *[c[k] for k in everything]], timeline, api_visibility="private")
        task_state.change(preview, [task_state, *[c[k] for k in everything]], timeline, api_visibility="private")
        task_state.change(lambda t: gr.update(visible=t != "t2v"), task_state, c["warm_start"],
                          api_visibility="private")  # warm start acts only where frames are given
        c["random_seed"].click(lambda: random.randrange(2**31), outputs=c["seed"], api_visibility="private")
        c["preset"].change(_apply_preset, c["preset"], [c["steps"], c["cfg"], c["shift"]], api_visibility="private")
        demo.load(_on_load, None, [tabs, task_state, c["seed"]], api_visibility="private").then(
            preview, [task_state, *[c[k] for k in everything]], timeline, api_visibility="private")
    return demo


def _generate_fn(studio: Studio, tab: str, names: tuple[str, ...]):
    """The tab's endpoint, with one named parameter per input (the API shows ``prompt``, ``seed``, …)."""
    import inspect

    def generate(*args, **kwargs):
        values = dict(zip(names, args))
        values.update(kwargs)
        yield from generate_events(studio, tab, values)

    generate.__name__ = f"generate_{tab}"
    generate.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    return generate


def _preview_fn(studio: Studio, names: list[str]):
    def preview(tab, *args):
        values = dict(zip(names, args))
        try:
            return studio.preview(_task(tab, values), values, _uploads(values))
        except USER_ERRORS as err:
            return message_html(str(err).splitlines()[0])
        except Exception as err:  # a preview never breaks the page
            logger.exception("preview failed")
            return message_html(f"cannot plan this yet ({type(err).__name__})")

    return preview


def _apply_preset(name: str):
    from pusa.pipeline import PRESETS

    p = PRESETS[name]
    return p["num_inference_steps"], p["guidance_scale"], p["shift"]


def _on_load(request: gr.Request):
    tab = request.query_params.get("tab", "t2v") if request else "t2v"
    tab = tab if tab in TABS else "t2v"
    return gr.Tabs(selected=tab), tab, random.randrange(2**31)


def load_studio(model: Path | None, lora: Path | None, out_dir: Path) -> Studio:
    """A Studio over ``--model`` (any folder ``pusa.loading`` reads) or the embedded Pusa-mini, loading what
    each request needs through :class:`pusa.request.Models`, exactly as ``pusa generate`` does."""
    import torch

    from pusa.request import ModelRules, Models, ModelSpec, rules_for

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if model is not None:
        models = Models(ModelSpec(model=Path(model), device=device))
    elif lora is None:
        models = Models(ModelSpec(device=device))
    else:  # another LoRA goes on top (the Studio loads it): the VTA LoRA stays unfused and on for every task
        from pusa.mini import default_pipeline

        pipe = default_pipeline(fuse=False)
        pipe.set_progress_bar_config(disable=True)
        models = Models.preloaded(pipe, ModelRules(None, rules_for(ModelSpec()).warm_start))
    return Studio(None, out_dir, model=Path(model).resolve() if model else None,
                  lora=Path(lora).resolve() if lora else None, models=models)


def launch(studio: Studio, host: str = "127.0.0.1", port: int | None = None, block: bool = True) -> gr.Blocks:
    """Serve the app on host:port (127.0.0.1 unless asked); outputs are served from the studio's folder only."""
    _keep_uploads_in(studio.out_dir)
    demo = build_app(studio)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=host, server_port=port, allowed_paths=[str(studio.out_dir)], max_file_size=MAX_VIDEO_BYTES,
                show_error=False, prevent_thread_lock=not block, quiet=not block, footer_links=["api"],
                css=".pusa-command textarea {font-family: monospace}")
    return demo


def _keep_uploads_in(out_dir: Path) -> None:
    """Gradio's uploads and served copies go under OUT_DIR/.gradio, not the system temp folder, so the app
    writes nothing outside its --out-dir (``pusa ui`` sets this before gradio is imported; this catches
    an app built in a process that imported gradio earlier)."""
    from gradio import route_utils

    folder = str(Path(out_dir) / ".gradio")
    os.environ["GRADIO_TEMP_DIR"] = folder
    route_utils.DEFAULT_TEMP_DIR = folder
