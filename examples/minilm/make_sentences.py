"""Picks the example's sentences from WordNet 3.0: usage examples and the glosses they illustrate.

Usage (once; the output, sentences.tsv, is committed):
    apt-get install wordnet-base        # Debian's WordNet 3.0 database, /usr/share/wordnet
    python3 examples/minilm/make_sentences.py [--wordnet /usr/share/wordnet]

WordNet (Princeton University, WordNet 3.0 licence: use, copy, modify and
distribute for any purpose with its notice, see DATA.md) pairs each sense
with a definition (gloss) and often a usage sentence written by its
lexicographers, e.g. "make fine adjustments ..." / "calibrate an instrument".
Every synset whose first usage example is a sentence of 6 to 24 words gives one
pair (the example, the gloss); pairs are taken evenly over the nouns, verbs,
adjectives and adverbs, so the set covers many topics, and each text has a
natural nearest neighbour (its partner) for the nearest-neighbour metric.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
PAIRS_PER_FILE = 48  # 192 pairs: 384 texts


def pairs_of(path: Path) -> list[tuple[str, str]]:
    """(example, gloss) per synset with a usable first example, in file order."""
    out = []
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  ") or "|" not in line:
            continue  # licence header
        gloss_part = line.split("|", 1)[1].strip()
        examples = re.findall(r'"([^"]+)"', gloss_part)
        gloss = re.split(r';\s*"', gloss_part, maxsplit=1)[0].strip().rstrip(";").strip()
        if not examples or not gloss or '"' in gloss:
            continue
        example = examples[0].strip()
        words = example.split()
        if not 6 <= len(words) <= 24 or not example[0].isupper() or "\t" in example + gloss:
            continue
        out.append((example, gloss))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    ap.add_argument("--out", type=Path, default=HERE / "sentences.tsv")
    args = ap.parse_args()
    rows = []
    for name in FILES:
        pairs = pairs_of(args.wordnet / name)
        step = len(pairs) / PAIRS_PER_FILE
        rows += [pairs[int(i * step)] for i in range(PAIRS_PER_FILE)]
    args.out.write_text("".join(f"{e}\t{g}\n" for e, g in rows), encoding="utf-8")
    print(f"wrote {args.out}: {len(rows)} pairs ({2 * len(rows)} texts)")


if __name__ == "__main__":
    main()
