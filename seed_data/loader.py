"""The curated seed data: one `<collection>.json` file per collection, loaded through the
knowledge base's bulk loader (`api.kb.bulk`)."""

import json
from pathlib import Path
from typing import Any

from sqlmodel import Session

from api.kb.bulk import LoadReport, load
from api.kb.documents import KINDS

SEED_DIR = Path(__file__).resolve().parent


def read_seed_files(directory: Path = SEED_DIR) -> dict[str, list[Any]]:
    """The documents of every `<collection>.json` file present in the directory."""
    data = {}
    for kind in KINDS:
        path = directory / f"{kind.file}.json"
        if path.exists():
            data[kind.file] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_seed(session: Session, directory: Path = SEED_DIR) -> LoadReport:
    return load(session, read_seed_files(directory))
