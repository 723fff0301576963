"""How far apart does Pusa-mini's text encoder put captions that differ in one word?

    python scripts/text_separation.py

For pairs of captions that differ only in a direction, colour or shape word, prints the largest change
of MiniLM's per-token state (relative to its norm; the transformer cross-attends to these states) and
the cosine similarity of the mean-pooled states. docs/mini.md uses it to ask whether the text encoder is
why objects ignore the caption's direction.
"""

from __future__ import annotations

import torch

PAIRS = {
    "direction": [("a red circle moves left", "a red circle moves right"),
                  ("a red circle moves up", "a red circle moves down"),
                  ("a red circle moves up-left", "a red circle moves down-right")],
    "colour": [("a red circle moves left", "a blue circle moves left"),
               ("a red circle moves left", "a green circle moves left")],
    "shape": [("a red circle moves left", "a red square moves left"),
              ("a red circle moves left", "a red triangle moves left")],
}


def token_states(tokenizer, encoder, text: str) -> torch.Tensor:
    batch = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        return encoder(**batch).last_hidden_state[0]


def separation(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(max over tokens of ‖a_t − b_t‖ / ‖a_t‖, cosine of the mean-pooled states); same-length captions only."""
    if a.shape != b.shape:
        raise ValueError("the two captions must tokenize to the same length")
    rel = ((a - b).norm(dim=-1) / a.norm(dim=-1)).max().item()
    return rel, torch.nn.functional.cosine_similarity(a.mean(0), b.mean(0), dim=0).item()


def main() -> None:
    from pusa.mini import text_components

    tokenizer, encoder = text_components()
    print("| word | captions | largest token change | pooled cosine |\n|---|---|---|---|")
    for kind, pairs in PAIRS.items():
        for x, y in pairs:
            rel, cos = separation(token_states(tokenizer, encoder, x), token_states(tokenizer, encoder, y))
            print(f"| {kind} | {x!r} / {y!r} | {rel:.0%} | {cos:.3f} |")


if __name__ == "__main__":
    main()
