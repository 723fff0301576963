"""Shared fixtures: tiny random-weight components built in memory (no downloads)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_wan_pipe():
    from pusa.tiny import tiny_pipeline

    return tiny_pipeline("wan")


@pytest.fixture(scope="session")
def tiny_packing_pipe():
    from pusa.tiny import tiny_pipeline

    return tiny_pipeline("packing")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A saved tiny packing pipeline folder, for `--model` (a module may override it with another layout)."""
    from pusa.tiny import tiny_pipeline

    path = tmp_path_factory.mktemp("model") / "tiny"
    tiny_pipeline("packing").save_pretrained(path)
    return path
