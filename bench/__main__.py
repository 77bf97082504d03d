"""`python -m bench`: run every benchmark module in bench/ (each one's `main()`), in name order.

`python -m bench api_tokens` runs only the modules named; options after one module's name go
to it (`python -m bench scale --sizes 20,40`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

import bench


def _modules(wanted: list[str]) -> list[str]:
    found = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )
    if not wanted:
        return found
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(unknown)} (have: {', '.join(found)})")
    return [name for name in found if name in wanted]


def main(argv: list[str]) -> int:
    first = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:first], argv[first:]
    if options and len(names) != 1:
        raise SystemExit("options go to one benchmark: python -m bench NAME --option ...")
    failed = 0
    for name in _modules(names):
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if not callable(run):
            continue
        print(f"== bench.{name}", flush=True)
        try:
            run(options) if options else run()
        except Exception:
            traceback.print_exc()
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
