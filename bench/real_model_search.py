"""bench/real_model_search: the precision search on a trained model this project did not train.

The model: PP-OCR's text-orientation classifier (ch_ppocr_mobile_v2.0_cls, a MobileNetV3-style
CNN, 0 or 180 degrees) as the PyPI package rapidocr-onnxruntime ships it. The data: text lines
rendered here with Pillow's built-in font, half of them turned 180 degrees (the label), prepared as
rapidocr prepares them (height 48, width padded to 192, scaled to [-1, 1]).

For fp16, bf16 and int8 at two budgets each it runs `trtpipe search`, then `trtpipe run` with the
committed result, and prints side by side: the nodes the search keeps, the shares of nodes and
FLOPs per precision of the graph the run builds, the cosine the search measured, and the run's
measured cosine and top-1; it checks that the run's lock rows, its realized precision and its
cosine are the search's. CPU only (ONNX Runtime, numerics: emulated). Needs Node.js with trtpipe
built here (npm ci && npm run setup), and a Python with numpy, onnx and Pillow to run this script:

    python3 -m pip download --no-deps rapidocr-onnxruntime==1.4.4 -d /tmp/wheels
    python3 bench/real_model_search.py --wheel /tmp/wheels/rapidocr_onnxruntime-1.4.4-py3-none-any.whl

About 15 minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
MODEL = "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
WORDS = ["invoice", "total", "date", "amount", "receipt", "name", "address", "phone", "order", "number",
         "price", "tax", "balance", "account", "customer", "payment", "due", "item", "quantity", "description"]
# Two budgets per precision (cosine against FP32), around what everything-lowered reaches
# (fp16 0.9999983, bf16 0.99981, int8 0.99476 on these data): a loose and a tight one.
BUDGETS = {"fp16": (0.999999, 0.9999999), "bf16": (0.9999, 0.99999), "int8": (0.999, 0.9999)}


def extract_model(wheel: Path, out: Path) -> Path:
    """The classifier from the wheel, its weight Constants turned into initializers (Paddle2ONNX
    writes weights as Constant nodes; trtpipe's Q/DQ pass quantizes initializer weights)."""
    with zipfile.ZipFile(wheel) as z:
        model = onnx.load_from_string(z.read(MODEL))
    kept = []
    for node in model.graph.node:
        if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]:
            t = onnx.TensorProto()
            t.CopyFrom(node.attribute[0].t)
            t.name = node.output[0]
            model.graph.initializer.append(t)
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    onnx.checker.check_model(model)
    path = out / "cls.onnx"
    onnx.save(model, str(path))
    return path


def text_lines(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n prepared text-line images, every second one turned 180 degrees (label 1)."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(n):
        words = [str(rng.choice(WORDS)) if rng.random() < 0.6 else str(rng.integers(0, 100000))
                 for _ in range(int(rng.integers(1, 4)))]
        text = " ".join(words)
        text = text.upper() if rng.random() < 0.3 else text
        font = ImageFont.load_default(size=int(rng.integers(26, 36)))
        img = Image.new("RGB", (max(int(font.getlength(text)) + 16, 48), 48),
                        tuple(int(v) for v in rng.integers(200, 256, 3)))
        ImageDraw.Draw(img).text((8, 24), text, font=font, fill=tuple(int(v) for v in rng.integers(0, 80, 3)),
                                 anchor="lm")
        if i % 2:
            img = img.rotate(180)
        width = min(192, int(np.ceil(48 * img.width / img.height)))
        x = np.asarray(img.resize((width, 48)), dtype=np.float32).transpose(2, 0, 1) / 255.0
        padded = np.zeros((3, 48, 192), np.float32)
        padded[:, :, :width] = (x - 0.5) / 0.5
        xs.append(padded)
        ys.append(i % 2)
    return np.stack(xs), np.array(ys, np.int64)


def pipeline(out: Path, towards: str, budget: float) -> Path:
    file = out / f"cls-{towards}-{str(budget).replace('.', '_')}.yaml"
    file.write_text(f"""version: 1
name: ocr-cls-{towards}
model:
  path: cls.onnx
  inputs: {{ x: {{ min: [1, 3, 48, 192], opt: [1, 3, 48, 192], max: [64, 3, 48, 192] }} }}
data:
  calibration: {{ npz: calib.npz }}
  evaluation: {{ npz: eval.npz, labels: labels }}
precision:
  default: {towards}
  opset: 22            # bf16 Conv needs opset 22; the same graph for every precision
  search: {{ towards: {towards}, budget: {{ cosine: {budget} }}, max_evaluations: 64 }}
{"calibration: { method: minmax }" if towards == "int8" else ""}
targets: [{{ name: cpu, numerics: emulated }}]
matrix: {{ precision: [{towards}] }}
benchmark: {{ iterations: 5 }}
""")
    return file


def trtpipe(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["node", str(ROOT / "bin" / "trtpipe.js"), *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"trtpipe {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def one(out: Path, state: Path, towards: str, budget: float) -> dict:
    file = pipeline(out, towards, budget)
    t0 = time.perf_counter()
    searched = trtpipe("search", str(file), "--state-dir", str(state)).stdout
    seconds = time.perf_counter() - t0
    result = json.loads(file.with_suffix(".search.json").read_text())
    trtpipe("run", str(file), "--state-dir", str(state))
    runs = sorted((state / "runs").iterdir())
    record = json.loads((runs[-1] / "run.json").read_text())
    cell = record["cells"][0]
    lock = record["stages"][f"transform@{towards}"]["details"]["lock"]
    explain = {r["node"]: r["realized"] for r in record["stages"][f"build@{cell['id']}"]["details"]["explain"]}
    float_rows = [r for r in lock if r["resolved"] != "-"]
    search_cosine = float(re.search(r"result: cosine ([0-9.e-]+)", searched).group(1))
    kept_candidates, candidates = map(int, re.search(r"kept in fp32: (\d+) of (\d+)", searched).groups())
    return {
        "towards": towards, "budget": budget, "kept": len(result["kept"]), "kept_candidates": kept_candidates,
        "candidates": candidates,
        "shares": result["shares"], "search_cosine": search_cosine, "run_cosine": cell["accuracy"]["cosine"],
        "top1": cell["accuracy"]["top1"], "reference_top1": cell["accuracy"]["reference_top1"],
        "evaluations": result["evaluations"], "seconds": seconds, "capped": "capped" in result,
        # The chain holds: the lock keeps what the search kept, the engine runs what the lock says.
        "lock_matches": [r["node"] for r in lock if r["reason"] == "SEARCH_FALLBACK"] == result["kept"],
        "realized_matches": all(explain.get(r["node"]) == r["resolved"] for r in float_rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", required=True, type=Path, help="rapidocr_onnxruntime-1.4.4 wheel")
    ap.add_argument("--out", type=Path, help="folder for the model, data, pipelines and results (default: a temp folder)")
    ap.add_argument("--samples", type=int, default=512)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="trtpipe-real-model-"))
    out.mkdir(parents=True, exist_ok=True)
    extract_model(args.wheel, out)
    x, y = text_lines(args.samples, seed=0)
    np.savez(out / "eval.npz", x=x, labels=y)
    np.savez(out / "calib.npz", x=text_lines(256, seed=1)[0])
    state = out / "state"
    rows = []
    for towards, budgets in BUDGETS.items():
        for budget in budgets:
            rows.append(one(out, state, towards, budget))
            r = rows[-1]
            print(f"{towards} cosine>={budget}: kept {r['kept_candidates']}/{r['candidates']} (+{r['kept'] - r['kept_candidates']}), search {r['search_cosine']}, "
                  f"run {r['run_cosine']:.10f}, {r['evaluations']} evaluations, {r['seconds']:.0f} s", flush=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    print(f"\nch_ppocr_mobile_v2.0_cls (rapidocr-onnxruntime 1.4.4), {args.samples} rendered text lines, "
          f"FP32 top-1 {100 * rows[0]['reference_top1']:.2f}%; ONNX Runtime CPU, numerics: emulated\n")
    print("| towards | budget (cosine) | kept in fp32: candidates (+ nodes following them) | nodes in towards | FLOPs in towards | search cosine | run cosine | run top-1 | lock = search | realized = lock |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["shares"].get(r["towards"], {"nodes": 0, "node_share": 0.0, "flops": 0.0})
        total = sum(v["nodes"] for v in r["shares"].values())
        print(f"| {r['towards']} | {r['budget']} | {r['kept_candidates']} of {r['candidates']} (+{r['kept'] - r['kept_candidates']})"
              f"{' capped' if r['capped'] else ''} | "
              f"{s['nodes']}/{total} ({100 * s['node_share']:.1f}%) | {100 * s['flops']:.1f}% | {r['search_cosine']} | "
              f"{r['run_cosine']:.10f} | {100 * r['top1']:.2f}% | {r['lock_matches']} | {r['realized_matches']} |")
    print(f"\nresults: {out / 'results.json'}")


if __name__ == "__main__":
    main()
