"""The benchmark's command-line options, shared by `python -m bench` and `skinkb bench`.

Only the standard library here, so `skinkb` builds its parser without the `bench` extra.
"""

import argparse
from pathlib import Path

SCALE_NAMES = ("seed", "1k", "10k", "100k")
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="small scales, short runs (under 2 min)")
    p.add_argument(
        "--scales",
        help=f"comma-separated, of {', '.join(SCALE_NAMES)} (default seed,10k,100k; quick seed,1k)",
    )
    p.add_argument("--seconds", type=int, help="duration of each run (default 10; quick 2)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1, help="seed of the synthetic data")
    p.add_argument(
        "--postgres",
        default=None,
        help=f"admin URL of a PostgreSQL server to measure too (full run default: "
        f"{DEFAULT_PG_ADMIN}; a bench database is created beside it); 'none' to skip",
    )
    p.add_argument("--postgres-scale", default="10k", choices=SCALE_NAMES)
    p.add_argument(
        "--cold-env",
        action="append",
        metavar="KEY=VALUE",
        help="a service setting for cold runs, to switch a response cache off "
        "(default: any SKINKB_*CACHE*_ENABLED setting found, set to false)",
    )
    p.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE on the SQLite files first (planner statistics a fresh database lacks)",
    )
    p.add_argument(
        "--paired-rounds",
        type=int,
        help="rounds of back-to-back runs for the ratio targets (default 3; quick 0)",
    )
    p.add_argument(
        "--skip",
        metavar="PARTS",
        help="comma-separated parts to leave out, of standard (the single runs), paired "
        "(issue 5's ratios), default-config (warm reads with the request log on, plain and "
        "gzipped), datasette (cold list, detail and search against Datasette's pages), "
        "postgres, scaleout (an edit's propagation through three processes)",
    )
    p.add_argument(
        "--scaleout-edits",
        type=int,
        default=100,
        help="edits timed through three processes, with and without a replica (0: none)",
    )
    p.add_argument("--python-load", action="store_true", help="use the Python load generator")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where results are written")
