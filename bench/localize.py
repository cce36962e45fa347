#!/usr/bin/env python3
"""bench/localize: where low precision goes wrong, per node (issue 22), on real models.

    .venv/bin/python bench/localize.py [--cases overflow-fp16,minilm-int8,minilm-fp16,digits-int8]
                                       [--wheel rapidocr.whl] [--samples 64] [--qdq-debug] [--bisection]
                                       [--json out.json]

Per case (model, precision, budget), in this process with the runner's stages, on the CPU:
- the localize stage on the graph the run builds (--samples evaluation samples, 64): its time, the
  first node whose output falls below the budget's cosine, and the 10 nodes that add the most error;
  and whether both are among the nodes the default safety rules name (safety_named: what the
  policy keeps wider for INIT_OVERFLOW, RANGE_OVERFLOW or REDUCTION_DEPTH);
- whether keeping the top k in fp32 meets the budget: the smallest such k, ranked by added error
  (the stage's ranking) and by impact (the search's), each found by bisection over k with real
  evaluations on all the evaluation data;
- the search (ranked by impact) for comparison: what it keeps, evaluations, seconds; with
  --bisection also the search it replaced (bisection in graph order).
With --qdq-debug, all-MiniLM-L6-v2 quantized by onnxruntime.quantization.quantize_static (QDQ,
per-channel, minmax, the example's calibration texts: ort_int8 of bench/minilm_int8.py) is
examined by onnxruntime's qdq_loss_debug and by trtpipe's localization, side by side: the 10
activations with the worst error in ORT's terms (xmodel_err, SQNR in dB; qdq_err for the
activation's own Q/DQ) against the nodes trtpipe ranks first.

Stages get the params the orchestrator sends (the contract's, checked: tests/stage_params.py has a
pipeline's defaults). Every temporary folder is deleted before the bench exits.

Cases: overflow-fp16 (the overflow example, emulated fp16 with the safety rules off, as
pipelines/overflow-blanket.yaml; budget 0.999), minilm-int8 (minmax, SmoothQuant 0.8, budget cosine 0.999), minilm-fp16 (emulated fp16,
budget 0.99999), digits-int8 (budget 0.99999), ocr-int8 (PP-OCR's classifier from the rapidocr
wheel, --wheel, see bench/real_model_search.py; budget 0.999; needs Pillow). On the shared 2-core
machine (load about 5): overflow-fp16 and digits-int8 a few seconds each, minilm-int8 about 7
minutes (4 more with --bisection), minilm-fp16 about 4, ocr-int8 about 3, --qdq-debug about 1.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runner-py"))  # trtpipe_runner, and tests.stage_params: the params a pipeline sends
sys.path.insert(0, str(ROOT / "bench"))
EXAMPLES = ROOT / "examples"

CASES = {
    "overflow-fp16": {"example": "overflow", "precision": "fp16", "budget": 0.999, "numerics": "emulated",
                      "labels": "labels", "safety": {"data_max": None, "init_max": None}},
    "minilm-int8": {"example": "minilm", "precision": "int8", "budget": 0.999, "numerics": "native",
                    "calibration": {"method": "minmax", "smoothing": {"alpha": 0.8}}},
    "minilm-fp16": {"example": "minilm", "precision": "fp16", "budget": 0.99999, "numerics": "emulated"},
    "digits-int8": {"example": "digits", "precision": "int8", "budget": 0.99999, "numerics": "native",
                    "calibration": {"method": "minmax"}, "labels": "labels"},
    "ocr-int8": {"example": "ocr", "precision": "int8", "budget": 0.999, "numerics": "native",
                 "calibration": {"method": "minmax"}, "labels": "labels", "opset": 22},
}


def files_of(case: dict, wheel: Path | None, tmp: Path) -> dict[str, Path]:
    if case["example"] != "ocr":
        d = EXAMPLES / case["example"]
        return {"model": d / "model.onnx", "calib": d / "calib.npz", "eval": d / "eval.npz"}
    if wheel is None:
        sys.exit("ocr-int8 needs --wheel (pip download --no-deps rapidocr-onnxruntime==1.4.4)")
    from real_model_search import extract_model, text_lines

    out = tmp / "ocr"
    out.mkdir()
    extract_model(wheel, out)
    x, y = text_lines(512, seed=0)
    np.savez(out / "eval.npz", x=x, labels=y)
    np.savez(out / "calib.npz", x=text_lines(256, seed=1)[0])
    return {"model": out / "cls.onnx", "calib": out / "calib.npz", "eval": out / "eval.npz"}


def run_case(name: str, case: dict, wheel: Path | None, tmp: Path, samples: int, compare_bisection: bool = False) -> dict:
    from tests.stage_params import complete
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.contract.vocabulary import INIT_OVERFLOW, RANGE_OVERFLOW, REDUCTION_DEPTH
    from trtpipe_runner.stages import get_stage, parse_stage_params
    from trtpipe_runner.stages.context import StageContext

    files = files_of(case, wheel, tmp)
    store = ArtifactStore(tmp / "store")
    m, c, e = (store.put_bytes(files[k].read_bytes()) for k in ("model", "calib", "eval"))

    def ctx(stage, inputs, params):
        return StageContext(store, CancelToken(), inputs, parse_stage_params(stage, complete(stage, params)))

    eval_params = {"labels": case["labels"]} if case.get("labels") else {}
    ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {"eval_data": eval_params}))
    ranges = get_stage("reference")(ctx("reference", {"model": m, "calib_data": c}, {"calib_data": {}}))
    inputs = {"model": m, "ranges": ranges.outputs["ranges"].sha256}
    calibration = {"method": "entropy", **(case.get("calibration") or {})}
    if case["precision"] == "int8":
        cal = {"method": calibration["method"], **({"smoothing": calibration["smoothing"]} if "smoothing" in calibration else {})}
        inputs["scales"] = get_stage("calibrate")(ctx("calibrate", {"model": m, "calib_data": c}, cal)).outputs["scales"].sha256
    policy = {"default": case["precision"], **({"safety": case["safety"]} if "safety" in case else {}),
              **({"opset": case["opset"]} if "opset" in case else {})}
    transform = get_stage("transform")(ctx("transform", inputs, {"policy": policy, "calibration": calibration}))
    low = transform.outputs["model"].sha256
    # The nodes the default safety rules would keep wider (for overflow-fp16 the case turns them off).
    safe = get_stage("transform")(ctx("transform", inputs, {"policy": {**policy, "safety": {}}, "calibration": calibration}))
    safety_named = sorted(r["node"] for r in safe.details["lock"] if r["reason"] in (INIT_OVERFLOW, RANGE_OVERFLOW, REDUCTION_DEPTH))
    t0 = time.perf_counter()
    loc = get_stage("localize")(ctx("localize", {"model": m, "annotated": low, "eval_data": e},
                                    {"build": {"precision": case["precision"], "numerics": case["numerics"]},
                                     "tolerance": {"cosine": case["budget"]}, "samples": samples,
                                     "eval_data": eval_params})).details
    localize_seconds = time.perf_counter() - t0
    # The process's peak so far (the stages before it included): what the localization needs at most.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    search_inputs = {**inputs, "eval_data": e, "reference": ref.outputs["reference"].sha256}
    search_params = {"policy": policy, "budget": {"cosine": case["budget"]}, "calibration": calibration,
                     "eval_data": eval_params, "evaluator": "onnxruntime"}
    search = get_stage("search")(ctx("search", search_inputs, search_params)).details
    search_seconds = time.perf_counter() - t0
    bisection = None
    if compare_bisection:
        import shutil

        shutil.rmtree(store.root / "search-cache", ignore_errors=True)
        t0 = time.perf_counter()
        b = get_stage("search")(ctx("search", search_inputs, {**search_params, "ranking": "topological"})).details
        bisection = {"kept": len(b["kept"]), "kept_candidates": b["kept_candidates"], "evaluations": b["evaluations"],
                     "seconds": round(time.perf_counter() - t0, 1)}
    by_node = {n["node"]: n for n in loc["nodes"]}
    added_rank = sorted(by_node, key=lambda n: -_num(by_node[n]["added"]))
    impact = {k: _num(v) for k, v in search["impact"].items()}
    top_k = top_k_recovery(store, search_inputs, policy, eval_params, case, added_rank, impact, tmp)
    first = loc["first_crossing"]
    return {"case": name, "localize_seconds": round(localize_seconds, 1), "samples": loc["samples"], "first_crossing": first,
            "peak_rss_mib_after_localize": round(peak_mib), "batches": loc["batches"],
            "top10": [by_node[n] for n in added_rank[:10]], "nodes": len(loc["nodes"]), **top_k,
            "safety_named": safety_named,
            "first_crossing_safety_named": bool(first and first["node"] in safety_named),
            "top_by_added_safety_named": [n for n in added_rank[:len(safety_named)] if n in safety_named],
            "search": {"kept": search["kept"], "kept_candidates": search["kept_candidates"], "evaluations": search["evaluations"],
                       "seconds": round(search_seconds, 1), "localize": search["localize"],
                       "exhausted": search["exhausted"], "strategy": search["strategy"], "cosine": search["metrics"].get("cosine"),
                       "blanket_cosine": search["blanket_metrics"].get("cosine"), "bisection": bisection}}


def _num(v) -> float:
    return float("inf") if v == "inf" else float("-inf") if v == "-inf" else float(v)


def top_k_recovery(store, inputs, policy, eval_params, case, added_rank, impact, tmp: Path) -> dict:
    """The smallest k whose top-k candidates kept in fp32 meet the budget, per ranking (bisection on k)."""
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.data.dataset import load_npz
    from trtpipe_runner.model.load import load_model
    from trtpipe_runner.model.tensors import graph_inputs
    from tests.stage_params import policy_of
    from trtpipe_runner.precision.policy import resolve
    from trtpipe_runner.search.budget import Budget
    from trtpipe_runner.search.candidate import CandidateGraph
    from trtpipe_runner.search.evaluator import CandidateEvaluator

    model = load_model(store.require(inputs["model"]), with_data=True)
    if policy.get("opset"):
        from trtpipe_runner.precision.opset import convert_opset

        model = convert_opset(model, int(policy["opset"]))
    ranges = {k: v["absmax"] for k, v in json.loads(store.require(inputs["ranges"]).read_text()).items()}
    scales = json.loads(store.require(inputs["scales"]).read_text()) if "scales" in inputs else {}
    base = resolve(model, policy_of({**policy, "search_keep": []}), ranges)
    graph = CandidateGraph(model, base, case["precision"], True, scales.get("tensors"), True,
                           (scales.get("smoothing") or {}).get("factors"), unquantized="fp32")
    data = load_npz(store.require(inputs["eval_data"]), graph_inputs(model), labels_key=eval_params.get("labels"))
    with np.load(store.require(inputs["reference"])) as z:
        reference = {k: z[k] for k in z.files}
    (tmp / "top-k").mkdir()
    evaluate = CandidateEvaluator(graph, data, reference, "onnxruntime", {}, tmp / "top-k", tmp / "top-k", "bench",
                                  CancelToken(), 32)
    budget = Budget(cosine=case["budget"])
    op = {n.name: n.op_type for n in model.graph.node}
    out: dict = {"candidates": len(graph.candidates), "candidate_ops": dict(Counter(op[n] for n in graph.candidates))}
    for label, order in (("by_added", [n for n in added_rank if n in graph.candidates]),
                         ("by_impact", sorted(graph.candidates, key=lambda n: -impact.get(n, 0.0)))):
        lo, hi = 0, len(order)
        if budget.holds(evaluate(frozenset())):
            hi = 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if budget.holds(evaluate(frozenset(order[:mid]))) else (mid, hi)
        out[f"top_k_{label}"] = hi
        out[f"top_{label}"] = order[:hi]
    return out


def qdq_debug(tmp: Path, samples: int = 16) -> dict:
    """onnxruntime's qdq_loss_debug and trtpipe's localization on the same int8 model (ORT's QDQ MiniLM)."""
    from minilm_int8 import ort_int8
    from onnxruntime.quantization import CalibrationDataReader
    from onnxruntime.quantization.qdq_loss_debug import (collect_activations, compute_activation_error,
                                                         create_activation_matching,
                                                         modify_model_output_intermediate_tensors)

    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.data.dataset import load_npz
    from trtpipe_runner.localize.capture import localize
    from trtpipe_runner.model.load import load_model
    from trtpipe_runner.model.tensors import graph_inputs

    d = EXAMPLES / "minilm"
    calib = dict(np.load(d / "calib.npz"))
    q_path = ort_int8(d / "model.onnx", calib, tmp / "q.onnx", "minmax", True)
    evald = {k: v[:samples] for k, v in np.load(d / "eval.npz").items()}

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{k: v[i:i + 8] for k, v in evald.items()} for i in range(0, samples, 8)])

        def get_next(self):
            return next(self.it, None)

    t0 = time.perf_counter()
    modify_model_output_intermediate_tensors(str(q_path), str(tmp / "q_aug.onnx"))
    modify_model_output_intermediate_tensors(str(d / "model.onnx"), str(tmp / "f_aug.onnx"))
    q_acts, f_acts = collect_activations(str(tmp / "q_aug.onnx"), Reader()), collect_activations(str(tmp / "f_aug.onnx"), Reader())
    ort_err = compute_activation_error(create_activation_matching(q_acts, f_acts))
    ort_seconds = time.perf_counter() - t0
    fp32 = load_model(d / "model.onnx", with_data=True)
    low = load_model(q_path, with_data=True)
    data = load_npz(d / "eval.npz", graph_inputs(fp32), samples=samples)
    t0 = time.perf_counter()
    ours = {}
    for mask in (None, "attention_mask"):
        settings = {"backend": "onnxruntime", "numerics": "native", "precision": "int8", "opt_level": "disable", "threads": 0}
        a = localize(fp32, low, "onnxruntime", settings, data, tmp, CancelToken(), samples=samples,
                     batch=8, device="cpu", mask=mask).attribution
        ours[mask or "none"] = a
    our_seconds = time.perf_counter() - t0
    producer = {t: n.name for n in fp32.graph.node for t in n.output}
    readers: dict[str, list[str]] = {}
    for n in fp32.graph.node:
        for t in n.input:
            readers.setdefault(t, []).append(n.name)
    # ORT's activations are tensors; a tensor's error is its producer's output error (trtpipe's rel error,
    # SQNR = -20 log10 rel), and its own Q/DQ noise belongs to the quantized node that reads it.
    xmodel = sorted(((v["xmodel_err"], t) for t, v in ort_err.items() if "xmodel_err" in v and t in producer))
    qdq = sorted(((v["qdq_err"], t) for t, v in ort_err.items() if t in readers))
    nomask = {n.node: n for n in ours["none"].nodes}
    rows_x = [{"tensor": t, "sqnr_db": round(db, 2), "producer": producer[t],
               "trtpipe_sqnr_db": round(-20 * np.log10(max(nomask[producer[t]].rel_error, 1e-30)), 2)
               if producer[t] in nomask else None} for db, t in xmodel[:10]]
    # An activation's own Q/DQ noise is rounding its readers do (trtpipe charges a Q/DQ to the node reading it).
    rows_q = [{"tensor": t, "qdq_err_db": round(db, 2), "readers": readers[t]} for db, t in qdq[:10]]
    ours_top = {k: [n.node for n in a.ranked()][:10] for k, a in ours.items()}
    ort_top_readers = {r for row in rows_q for r in row["readers"]}
    # ORT lists the quantized activations only: rank those same tensors by trtpipe's error.
    listed = {producer[t] for _, t in xmodel}
    ours_x = [n.node for n in sorted(ours["none"].nodes, key=lambda n: -n.rel_error) if n.node in listed]
    return {"ort_seconds": round(ort_seconds, 1), "trtpipe_seconds": round(our_seconds, 1), "ort_xmodel_top10": rows_x,
            "ort_qdq_top10": rows_q, "trtpipe_top10_by_added": ours_top,
            "xmodel_top10_producers_in_trtpipe_top10_by_error": len({r["producer"] for r in rows_x} & set(ours_x[:10])),
            "qdq_readers_in_trtpipe_top10_by_added": {k: len(set(v) & ort_top_readers) for k, v in ours_top.items()}}


def show(r: dict) -> None:
    f = r["first_crossing"]
    print(f"\n== {r['case']}: localize {r['localize_seconds']} s ({r['samples']} samples, {r['batches']} batches, "
          f"peak RSS {r['peak_rss_mib_after_localize']} MiB) over {r['nodes']} nodes; "
          f"first past the budget: {f['node'] + ' (' + f['op'] + ')' if f else 'none'}")
    if r["safety_named"]:
        print(f"safety rules name {r['safety_named']}: the first crossing is {'one' if r['first_crossing_safety_named'] else 'NOT one'} "
              f"of them; of the top {len(r['safety_named'])} by added error, {len(r['top_by_added_safety_named'])} are")
    print(f"{'node':58s} {'op':18s} {'adds':>10s} {'impact':>10s} {'rel err':>9s}")
    for n in r["top10"]:
        print(f"{n['node'][:58]:58s} {n['op'][:18]:18s} {_num(n['added']):10.3g} {_num(n.get('impact', 'nan')):10.3g} "
              f"{_num(n['rel_error']):9.3g}")
    s = r["search"]
    print(f"top-k kept in fp32 to meet the budget: {r['top_k_by_added']} by added error, {r['top_k_by_impact']} by impact "
          f"(of {r['candidates']} candidates: {r['candidate_ops']}); the search ({s['strategy']}) keeps {s['kept_candidates']} "
          f"candidates, {len(s['kept'])} nodes ({s['evaluations']} evaluations{', cap hit' if s['exhausted'] else ''}, "
          f"{s['seconds']} s of which localization {s['localize'].get('seconds')} s; cosine {s['blanket_cosine']:.6f} "
          f"blanket -> {s['cosine']:.6f})")
    if s.get("bisection"):
        b = s["bisection"]
        print(f"  the bisection it replaced: {b['kept_candidates']} candidates kept, {b['evaluations']} evaluations, {b['seconds']} s")
    print(f"  search keeps: {s['kept']}\n  top by added: {r['top_by_added']}\n  top by impact: {r['top_by_impact']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="overflow-fp16,minilm-int8,minilm-fp16,digits-int8")
    ap.add_argument("--samples", type=int, default=64, help="samples the localize stage runs (evaluate.localize.samples)")
    ap.add_argument("--wheel", type=Path)
    ap.add_argument("--qdq-debug", action="store_true")
    ap.add_argument("--bisection", action="store_true", help="also run the search as it was (bisection in graph order)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    for name in filter(None, args.cases.split(",")):
        if name not in CASES:
            sys.exit(f"unknown case '{name}' (cases: {', '.join(CASES)})")
        with tempfile.TemporaryDirectory(prefix=f"trtpipe-localize-{name}-") as tmp:
            rows.append(run_case(name, CASES[name], args.wheel, Path(tmp), args.samples, args.bisection))
        show(rows[-1])
    result: dict = {"cases": rows}
    if args.qdq_debug:
        with tempfile.TemporaryDirectory(prefix="trtpipe-qdq-debug-") as tmp:
            result["qdq_debug"] = q = qdq_debug(Path(tmp))
        print(f"\n== qdq_loss_debug vs trtpipe on onnxruntime's int8 MiniLM ({q['ort_seconds']} s vs {q['trtpipe_seconds']} s)")
        for row in q["ort_xmodel_top10"]:
            print(f"  ORT xmodel_err {row['sqnr_db']:7.2f} dB  trtpipe {row['trtpipe_sqnr_db']} dB  {row['tensor']}")
        for row in q["ort_qdq_top10"]:
            print(f"  ORT qdq_err {row['qdq_err_db']:7.2f} dB  {row['tensor']} -> {row['readers']}")
        for k, v in q["trtpipe_top10_by_added"].items():
            print(f"  trtpipe top 10 by added error (mask {k}): {v}")
        print(f"  ORT's 10 worst activations by xmodel_err: {q['xmodel_top10_producers_in_trtpipe_top10_by_error']} of them "
              "are trtpipe's 10 worst (by rel error) among the same activations")
        print(f"  readers of ORT's 10 worst activations by qdq_err among trtpipe's top 10 by added error: "
              f"{q['qdq_readers_in_trtpipe_top10_by_added']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
