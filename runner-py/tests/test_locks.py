"""The Python locks: every pin carries the sha256 of its distributions, every install checks them
(--require-hashes), and a package shared by several locks has one version in all of them
(scripts/lock-python.sh; docs/decisions.md)."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCKS = [REPO / "runner-py" / f for f in ("requirements.lock", "requirements-dev.lock", "requirements-lint.lock",
                                          "requirements-torch.lock")] + [REPO / "examples" / "requirements.lock"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every requirement in the lock."""
    out: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        m = PIN.match(line)
        if m:
            current = m.group(1).lower()
            out[current] = (m.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, n = out[current]
            out[current] = (version, n + 1)
        elif line and not line.startswith(" ") and not line.startswith("#"):
            raise AssertionError(f"{lock.name}: not a pinned requirement: {line!r}")
    return out


def test_every_pin_has_hashes_and_shared_packages_agree():
    seen: dict[str, tuple[str, str]] = {}
    for lock in LOCKS:
        found = pins(lock)
        assert found, f"{lock} pins nothing"
        for name, (version, hashes) in found.items():
            assert hashes, f"{lock.name}: {name}=={version} has no --hash"
            if name in seen:
                assert seen[name][0] == version, f"{name}: {version} in {lock.name}, {seen[name][0]} in {seen[name][1]}"
            seen[name] = (version, lock.name)
    runtime, dev = pins(LOCKS[0]), pins(LOCKS[1])
    assert set(runtime) <= set(dev), "the dev lock holds the runtime lock"


def test_every_install_from_a_lock_checks_the_hashes():
    installs = [(f, line) for f in [*(REPO / "scripts").glob("setup-*.sh"), REPO / "runner-py" / "Dockerfile"]
                for line in f.read_text().splitlines() if "pip install" in line and " -r " in line]
    assert len(installs) >= 5
    for f, line in installs:
        assert "--require-hashes" in line, f"{f.name}: {line.strip()}"
