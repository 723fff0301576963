"""The web app served on a free port: an I2V run through gradio_client, refused uploads, and a headless
Chromium screenshot (Debian's chromium package; skipped with a reason where it is not installed)."""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pusa.cli import app as cli_app
from pusa.io import read_video

gradio_client = pytest.importorskip("gradio_client", reason="the web app tests need gradio (pip install -e '.[dev]')")
from gradio_client import Client, handle_file  # noqa: E402

# shared controls, in pusa.ui.app.COMMON order: prompt, negative, seed, preset, steps, cfg, shift, lora, frames, h, w
COMMON = ["a red ball moves left", "", 11, "default", 2, 1.0, 5.0, 1.0, 9, 32, 32, 0.9]  # …, warm start σ 0.9


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    from pusa.ui.app import launch, load_studio

    out = tmp_path_factory.mktemp("ui-out")
    studio = load_studio(model_dir, None, out)
    port = _free_port()
    demo = launch(studio, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/", out
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server[0], verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    img = np.zeros((40, 48, 3), np.uint8)
    img[8:30, 10:30] = (220, 40, 40)
    Image.fromarray(img).save(root / "start.png")
    (root / "notes.png").write_text("this is text, not an image")
    return root


def _system_gradio_files() -> set:
    import tempfile
    from pathlib import Path

    return {p for p in (Path(tempfile.gettempdir()) / "gradio").rglob("*")}


def test_i2v_through_the_client_gives_a_playable_video(client, server, files, model_dir, tmp_path):
    before = _system_gradio_files()
    timeline, status, video, sheet, command = client.predict(handle_file(str(files / "start.png")), 0.0, *COMMON,
                                                             api_name="/i2v")
    assert _system_gradio_files() == before  # uploads and served copies stay under --out-dir
    assert any((server[1] / ".gradio").rglob("*.png"))
    video = video["video"] if isinstance(video, dict) else video
    frames, fps = read_video(video)
    assert frames.shape == (9, 32, 32, 3) and fps == 16
    assert "σ=0" in timeline and "done" in status and Image.open(sheet).size[0] > 0
    run_dirs = [p for p in server[1].iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(run_dirs) == 1 and (run_dirs[0] / "video.mp4").is_file() and (run_dirs[0] / "settings.json").is_file()
    # The shown command is the exact equivalent: run it and get the same frames.
    argv = shlex.split(command)
    assert argv[:2] == ["pusa", "generate"] and "--seed" in argv
    result = CliRunner().invoke(cli_app, [*argv[1:], "--out", str(tmp_path / "cli.mp4")])
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_video(tmp_path / "cli.mp4")[0], frames)


def test_non_image_upload_is_refused_and_the_app_keeps_serving(client, files):
    with pytest.raises(Exception, match="not a readable image") as err:
        client.predict(handle_file(str(files / "notes.png")), 0.0, *COMMON, api_name="/i2v")
    assert "Traceback" not in str(err.value)
    keyframes = [handle_file(str(files / "start.png")), 99, 0.0] + [None, 0, 0.0] * 3
    with pytest.raises(Exception, match="pixel frame 99 is outside 0–8"):
        client.predict(*keyframes, *COMMON, api_name="/keyframes")
    _, status, video, _, _ = client.predict(*COMMON, api_name="/t2v")  # still serving
    assert "done" in status and read_video(video["video"] if isinstance(video, dict) else video)[0].shape[0] == 9


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (apt-get install -y chromium)")
def test_headless_chromium_screenshot_is_not_blank(server, tmp_path):
    png = tmp_path / "page.png"
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900",
            "--virtual-time-budget=8000", f"--screenshot={png}", f"{server[0]}?tab=i2v"]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(png).convert("L"), dtype=np.float32)
    assert pixels.shape == (900, 1280)
    assert pixels.std() > 10  # a blank (or still loading) page is one flat colour
    assert (pixels < 128).mean() > 0.005  # and has some dark text on it
