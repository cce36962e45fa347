#!/usr/bin/env python3
"""The three counts of issue 14 ("one contract across TypeScript and Python"), measured the same
way before and after: `python3 scripts/contract-counts.py [--list]`.

1. param defaults: `.get(key, default)` and `.get(key) or default` on stage parameters in the
   runner's stage code (stages/, the backends' settings and backend modules, the policy, smoothing
   and lease parsers), found with Python's ast; receivers are parameter dicts by name.
2. vocabulary copies: lines outside generated code and tests that hard-code two or more precision
   names (a list, a table, a comparison) or a compute-capability threshold.
3. files outside src/cli/ that import from src/cli/.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "runner-py" / "trtpipe_runner"
PARAM_FILES = [*sorted((RUNNER / "stages").glob("*.py")), *sorted(RUNNER.glob("backends/*/settings.py")),
               *sorted(RUNNER.glob("backends/*/backend.py")), RUNNER / "precision" / "policy.py",
               RUNNER / "calibration" / "smoothing.py", RUNNER / "lease" / "devices.py"]
# Names the stage code gives parameter dicts (ctx.params and what is read out of it).
PARAM_NAMES = {"params", "p", "settings", "opts", "s", "policy_params", "match", "r", "raw"}
PRECISION = r"(?:fp32|tf32|fp16|bf16|int8|fp8)"
QUOTED = re.compile(rf"""['"]({PRECISION})['"]""")
KEYED = re.compile(rf"""\b({PRECISION})\s*:""")
CC = re.compile(r"""\(\s*[5-9]\s*,\s*[0-9]\s*\)|['"][5-9]\.[0-9]['"]|\b[5-9]\.[0-9]\b(?!\.)""")


def _receiver_is_params(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in PARAM_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr == "params" or _receiver_is_params(node.value)
    if isinstance(node, ast.BoolOp):  # (p.get("x") or {}).get(...)
        return _receiver_is_params(node.values[0])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return _receiver_is_params(node.func.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and node.args:
        return _receiver_is_params(node.args[0])
    return False


def param_defaults() -> list[str]:
    hits = []
    for file in PARAM_FILES:
        tree = ast.parse(file.read_text(), str(file))
        or_firsts = {id(v.values[0]) for v in ast.walk(tree) if isinstance(v, ast.BoolOp) and isinstance(v.op, ast.Or)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"):
                continue
            if not _receiver_is_params(node.func.value):
                continue
            if len(node.args) >= 2 or id(node) in or_firsts:
                hits.append(f"{file.relative_to(ROOT)}:{node.lineno}: {ast.get_source_segment(file.read_text(), node)}")
    return hits


def _code_lines(file: Path):
    """Lines of code, comments and docstring-ish lines left out."""
    in_doc = False
    for i, line in enumerate(file.read_text().splitlines(), 1):
        s = line.strip()
        if file.suffix == ".py" and (s.startswith('"""') or s.endswith('"""')):
            if not (s.count('"""') == 2 and len(s) > 6):
                in_doc = not in_doc
            continue
        if in_doc or s.startswith(("#", "//", "*", "/*")):
            continue
        yield i, line.split(" # ")[0] if file.suffix == ".py" else line.split(" // ")[0]


def vocabulary_copies() -> list[str]:
    files = [f for f in (ROOT / "src").rglob("*.ts") if "gen" not in f.relative_to(ROOT / "src").parts]
    files += [f for f in RUNNER.rglob("*.py") if not {"gen", "contract"} & set(f.relative_to(RUNNER).parts)]
    hits = []
    for f in sorted(files):
        for i, line in _code_lines(f):
            names = set(QUOTED.findall(line)) | set(KEYED.findall(line))
            if len(names) >= 2 or (CC.search(line) and re.search(r"capab|cc|MIN_|sm|SM", line, re.I)):
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()[:110]}")
    return hits


IMPORT = re.compile(r"""(?:from|import)\s+['"](\.[^'"]+)['"]""")


def cli_imports() -> list[str]:
    src = ROOT / "src"
    cli = src / "cli"
    out = []
    for f in sorted(src.rglob("*.ts")):
        if cli in f.parents:
            continue
        targets = [(f.parent / m).resolve() for m in IMPORT.findall(f.read_text())]
        if any(cli == t or cli in t.parents for t in targets):
            out.append(str(f.relative_to(ROOT)))
    return out


def main() -> None:
    show = "--list" in sys.argv
    for title, hits in (("stage parameters read with a default (.get(k, d) / .get(k) or d)", param_defaults()),
                        ("lines hard-coding precision lists or compute capabilities", vocabulary_copies()),
                        ("files outside src/cli importing from src/cli", cli_imports())):
        print(f"{len(hits):4d}  {title}")
        if show:
            for h in hits:
                print(f"        {h}")


if __name__ == "__main__":
    main()
