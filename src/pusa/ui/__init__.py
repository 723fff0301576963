"""The web app (``pusa ui``): every task in the browser, with the per-frame timeline.

``pusa.ui.timeline``, ``pusa.ui.tasks``, ``pusa.ui.uploads`` and ``pusa.ui.studio`` need no gradio;
``pusa.ui.app`` builds the Gradio Blocks (install with ``pip install 'pusa[ui]'``).
"""

from __future__ import annotations


def launch(model=None, lora=None, out_dir="pusa-ui", host: str = "127.0.0.1", port: int | None = None,
           block: bool = True):
    """Load the model (``model`` folder, or the embedded Pusa-mini) and serve the app; returns the Blocks."""
    import os
    from pathlib import Path

    os.environ["GRADIO_TEMP_DIR"] = str((Path(out_dir) / ".gradio").resolve())  # before gradio is imported
    from pusa.ui.app import launch as launch_app
    from pusa.ui.app import load_studio

    studio = load_studio(Path(model) if model else None, Path(lora) if lora else None, Path(out_dir))
    return launch_app(studio, host=host, port=port, block=block)
