"""One piece of benchmark work in its own process: ``python benchmarks/child.py NAME [options]``.

``run.py`` starts these and measures wall time, CPU time and peak RSS from the outside
(``measure.run_child``). A child reports its inner timings (the part that is the work itself,
without imports and set-up) through ``measure.write_inner``. The children are declared by the
step modules under ``steps/`` (``steps.CHILDREN``).
"""

from __future__ import annotations

import argparse

from steps import CHILDREN


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="child", required=True)
    for child in CHILDREN.values():
        child.options(sub.add_parser(child.name))
    args = parser.parse_args(argv)
    CHILDREN[args.child].run(args)


if __name__ == "__main__":
    main()
