"""Engine layer names, taken apart: which ONNX names a layer name mentions.

TensorRT names each engine layer after what it was built from and renames
what it rewrites. Forms seen in real engines (TensorRT 8.6-10.x inspector
dumps, build logs and trtexec profiles; sources in docs/tensorrt.md):
- a node name: "/conv1/Conv", "Conv_0";
- fusions: "/conv1/Conv + /relu/Relu"; Myelin joins without spaces
  ("/ln/Mul+/ln/Add_myl0_5"); horizontal fusions "Conv_168 || Conv_180";
  pointwise fusions "PWN(PWN(Softplus_144, PWN(Tanh_145)), Mul_146)";
- Myelin regions: "{ForeignNode[/a/Unsqueeze_3 + /a/Unsqueeze_4.../b/Squeeze]}",
  naming only the first and last (possibly fused) nodes of the region;
- Myelin sub-layers (10.x): "/encoder/layers_8/dense/MatMul_myl0_60", the
  node name with "." replaced by "_" and a "_myl<a>_<b>" suffix;
- Myelin's own layers, which name no node: generated kernels
  ("__myl_AddCastMeanSub..._myl0_61", "_gemm_mha_v2_myl0_59"), data moves
  ("__myl_Mov_myl25_0", "__myl_Move_myl0_0"), shape bookkeeping on its
  internal tensors ("__mye151787_myl0_4" reshape, "__mye35321_0_myl0_0"
  shape_call, "cast_hvar^151783i64_myl0_5" cast of a shape variable) and
  control flow ("exit^bb^signal^1_myl0_7");
- weights (constants) named after their initializer, cloned per consumer:
  "onnx::Conv_507_clone_1";
- "Reformatting CopyNode for Input Tensor 0 to <layer>" (layout or type
  conversions TensorRT added), "<tensor> copy" and "(Unnamed Layer* 12)
  [Shuffle]" (layers the parser or builder added).
Pure string handling: layer_map.py resolves the names against the ONNX graph.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

REFORMAT_PREFIX = "Reformatting CopyNode for "
_FOREIGN = re.compile(r"^\{ForeignNode\[(.*)\]\}$", re.S)
MYELIN_SUFFIX = re.compile(r"_myl\d+_\d+$")
CLONE_SUFFIX = re.compile(r"_clone_\d+$")
_UNNAMED = re.compile(r"^\(Unnamed Layer\* \d+\)")
# Separators TensorRT puts between fused names (the metadata separators also
# appear in names of 8.6/10.0 engines, NVIDIA/TensorRT#2779).
_SEPARATORS = ("\x1e", "\x1f")


@dataclass(frozen=True)
class ParsedName:
    """What a layer name says.

    kind: plain | fused | region | reformat | myelin-kernel | myelin-move |
    myelin-shape | myelin-control | copy | internal.
    parts: the ONNX names it mentions (for a region, `first` then `last`).
    """

    kind: str
    parts: tuple[str, ...] = ()
    first: tuple[str, ...] = ()
    last: tuple[str, ...] = ()
    myelin: bool = False


def parse_layer_name(name: str) -> ParsedName:
    """Splits a layer name into its kind and the ONNX names it mentions.

    Args:
        name: the engine layer's `Name`.

    Returns:
        a ParsedName; names are returned as written (see `myelin_key` and
        `strip_clone` for the forms TensorRT derives from ONNX names).
    """
    text = name.strip()
    for sep in _SEPARATORS:
        text = text.replace(sep, "+")
    if text.startswith(REFORMAT_PREFIX):
        return ParsedName("reformat")
    region = _FOREIGN.match(text)
    if region:
        first_text, dots, last_text = region.group(1).partition("...")
        first = tuple(leaves(first_text))
        last = tuple(leaves(last_text)) if dots else first
        return ParsedName("region", first + tuple(n for n in last if n not in first), first, last)
    base = MYELIN_SUFFIX.sub("", text)
    myelin = base != text
    if "^" in base:
        return ParsedName("myelin-shape" if "hvar^" in base else "myelin-control", myelin=True)
    if myelin and base.startswith("__mye"):
        return ParsedName("myelin-shape", myelin=True)
    if myelin and base.startswith("_"):
        ops = base.lstrip("_")
        kind = "myelin-move" if re.match(r"^myl_Mov(e|\b|_|$)", ops) else "myelin-kernel"
        return ParsedName(kind, myelin=True)
    if base.endswith(" copy") and " + " not in base:
        return ParsedName("copy", (base[: -len(" copy")],), myelin=myelin)
    found = leaves(base)
    if not found:
        return ParsedName("internal", myelin=myelin)
    if len(found) == 1:
        return ParsedName("plain", tuple(found), myelin=myelin)
    return ParsedName("fused", tuple(found), myelin=myelin)


def leaves(text: str) -> list[str]:
    """The names inside a (possibly fused) layer name, in order, without TensorRT-internal layers.

    Splits at top-level " + ", "+" and " || " (never inside parentheses or
    brackets, which TensorRT's own layer names use) and opens "PWN(a, b)".
    """
    out: list[str] = []
    for piece in _split_top(text, ("+", "||")):
        piece = piece.strip()
        if piece.startswith("PWN(") and piece.endswith(")"):
            for arg in _split_top(piece[4:-1], (",",)):
                out.extend(leaves(arg))
        elif piece and not _UNNAMED.match(piece):
            out.append(MYELIN_SUFFIX.sub("", piece))
    return out


def _split_top(text: str, seps: tuple[str, ...]) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            sep = next((s for s in seps if text.startswith(s, i)), None)
            if sep:
                parts.append(text[start:i])
                i += len(sep)
                start = i
                continue
        i += 1
    parts.append(text[start:])
    return parts


def myelin_key(name: str) -> str:
    """The form Myelin gives an ONNX node name in sub-layer names ("." and other punctuation -> "_")."""
    return re.sub(r"[^\w/]", "_", MYELIN_SUFFIX.sub("", name))


def strip_clone(name: str) -> str:
    """"onnx::Conv_507_clone_1" -> "onnx::Conv_507": Myelin clones a constant per consumer."""
    return CLONE_SUFFIX.sub("", name)
