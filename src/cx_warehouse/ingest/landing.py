"""The landing zone: where source systems deliver their export files.

A local folder by default, or any fsspec URL (``s3://bucket/prefix`` with ``s3fs``
installed, ``memory://`` in tests). Files are found by each entity's ``pattern``; the
``{date}`` folder is the delivery date, which decides which data interval picks a file up.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

from cx_warehouse.ingest.sources import Entity

CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class LandedFile:
    """One delivered file; orders by delivery date, then path."""

    delivery_date: date
    path: str
    """Path relative to the landing root, with forward slashes."""
    size: int

    @property
    def compressed(self) -> bool:
        return self.path.endswith(".gz")


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{date\}|\*)", pattern)
    out = []
    for part in parts:
        if part == "{date}":
            out.append(r"(?P<date>\d{4}-\d{2}-\d{2})")
        elif part == "*":
            out.append(r"[^/]*")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


class LandingZone:
    """Lists and opens delivered files under one root URL or path."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")

    def find(self, entity: Entity, until: date | None = None) -> list[LandedFile]:
        """Files for ``entity`` delivered before ``until`` (exclusive), oldest first."""
        regex = _pattern_regex(entity.pattern)
        glob = f"{self.root}/{entity.pattern.replace('{date}', '*')}"
        found = []
        for full, info in self.fs.glob(glob, detail=True).items():
            if info.get("type") == "directory":
                continue
            rel = full[len(self.root) :].lstrip("/") if full.startswith(self.root) else full
            m = regex.match(rel)
            if not m:
                continue
            try:
                delivered = date.fromisoformat(m.group("date"))
            except ValueError:
                continue
            if until is not None and delivered >= until:
                continue
            found.append(LandedFile(delivered, rel, int(info.get("size") or 0)))
        return sorted(found)

    def full_path(self, f: LandedFile) -> str:
        return f"{self.root}/{f.path}"

    def sha256(self, f: LandedFile) -> str:
        h = hashlib.sha256()
        with self.fs.open(self.full_path(f), "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def open(self, f: LandedFile) -> IO[bytes]:
        """The file's bytes, gunzipped when its name ends in ``.gz``."""
        raw = self.fs.open(self.full_path(f), "rb")
        if f.compressed:
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return raw  # type: ignore[no-any-return]

    def chunks(self, f: LandedFile) -> Iterator[bytes]:
        with self.open(f) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
