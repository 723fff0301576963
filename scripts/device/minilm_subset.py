"""Carry MiniLM to the GPU machine under its 64 MiB transfer limit (device glue, not part of the package).

`pack` (here): MiniLM's weights without the 30,522-row word-embedding table, plus only the rows the
world's captions use (the caption grammar is closed). `unpack` (there): rebuild a full model folder in
which every other row is NaN, so a caption with an unseen token makes a NaN loss and stops the run
instead of training on a wrong embedding. Outputs for world captions are bit-identical to the original.

    python scripts/device/minilm_subset.py pack .carry/minilm [bfloat16]   # bf16: half the bytes, not exact
    python scripts/device/minilm_subset.py unpack .carry/minilm /tmp/minilm    # then PUSA_MINILM=/tmp/minilm
"""

import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

EMB = "embeddings.word_embeddings.weight"


def caption_token_ids(tokenizer, n: int = 20000) -> list[int]:
    from pusa.world import make_clip
    from pusa.world.dataset import clip_seed

    ids = set(tokenizer.all_special_ids)
    for i in range(n):
        preset = ("easy", "medium", "full")[i % 3]
        ids.update(tokenizer(make_clip(clip_seed(7, i), 17, 64, 64, preset).caption)["input_ids"])
    return sorted(ids)


def pack(dest: Path, dtype: str = "float32") -> None:
    from transformers import AutoTokenizer

    from pusa.mini import minilm_path

    src = minilm_path()
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.name != "model.safetensors" and f.suffix in (".json", ".txt"):
            shutil.copy(f, dest / f.name)
    tok = AutoTokenizer.from_pretrained(str(src))
    ids = caption_token_ids(tok)
    state = load_file(str(src / "model.safetensors"))
    emb = state.pop(EMB)
    state = {k: v.to(getattr(torch, dtype)) if v.is_floating_point() else v for k, v in state.items()}
    save_file({**state, "subset.ids": torch.tensor(ids), "subset.rows": emb[ids].clone(),
               "subset.shape": torch.tensor(list(emb.shape))}, str(dest / "weights-subset.safetensors"))
    print(f"{len(ids)} token ids of {emb.shape[0]}; {sum(f.stat().st_size for f in dest.iterdir()) / 2**20:.1f} MiB")


def unpack(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name != "weights-subset.safetensors":
            shutil.copy(f, dest / f.name)
    state = load_file(str(src / "weights-subset.safetensors"))
    ids, rows, shape = state.pop("subset.ids"), state.pop("subset.rows"), state.pop("subset.shape")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    emb = torch.full(tuple(shape.tolist()), float("nan"), dtype=torch.float32)
    emb[ids] = rows
    save_file({**state, EMB: emb}, str(dest / "model.safetensors"))


if __name__ == "__main__":
    if sys.argv[1] == "pack":
        pack(Path(sys.argv[2]), *sys.argv[3:4])
    else:
        unpack(Path(sys.argv[2]), Path(sys.argv[3]))
