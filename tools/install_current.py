"""Exit 0 when this checkout is installed (editable) into the running interpreter and the compiled
extension is current; exit 1 with the reason otherwise. Used by ``make install`` to skip the
reinstall (and the ~1-5 minute extension build) when nothing it depends on changed."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH = "2.13.0"  # keep in sync with the Makefile and pyproject.toml


def reason() -> str | None:
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if os.environ.get("DGLCLUST_TORCH", TORCH) != torch.__version__.split("+")[0]:
        return f"torch {torch.__version__} is installed, the project pins {TORCH}"
    try:
        import dglclust
    except Exception as exc:  # noqa: BLE001
        return f"dglclust does not import ({exc})"
    pkg = Path(dglclust.__file__).resolve().parent
    if pkg != ROOT / "dglclust":
        return f"dglclust is imported from {pkg}, not from this checkout"
    try:
        import pytest  # noqa: F401  (the [test] extra)
        import xdist  # noqa: F401  (the [test] extra; `make test` runs the suite in parallel)
        import matplotlib  # noqa: F401
        import faiss  # noqa: F401  (the [test] extra; AdaGAE's large-graph mode)
    except ImportError as exc:
        return f"a dependency is missing ({exc})"
    if os.environ.get("DGLCLUST_NO_EXT", "0") in ("1", "true", "yes", "on"):
        return None
    from dglclust.ops import _ext

    if not _ext.extension_loaded():
        return f"the compiled extension is not active ({_ext.load_error()})"
    so = Path(sys.modules["dglclust._C"].__file__)
    sources = [ROOT / "setup.py", ROOT / "pyproject.toml", *ROOT.glob("csrc/*/*.cpp"), *ROOT.glob("csrc/*/*.cu"),
               *ROOT.glob("csrc/*/*.h")]
    newer = [p for p in sources if p.stat().st_mtime > so.stat().st_mtime]
    if newer:
        return f"{newer[0].relative_to(ROOT)} changed after the extension was built"
    return None


if __name__ == "__main__":
    why = reason()
    if why:
        print(f"make: (re)installing: {why}")
        sys.exit(1)
    print("make: dglclust and its extension are installed and current; skipping the install "
          "(`make install FORCE=1` reinstalls)")
    sys.exit(0)
