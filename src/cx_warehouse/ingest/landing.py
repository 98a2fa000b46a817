"""The landing zone: where source systems deliver their export files.

A local folder by default, or any fsspec URL (``s3://bucket/prefix`` with ``s3fs`` installed,
``memory://`` in tests). It is the loader's only door to the outside, so it decides three things
the rest of the code can then take for granted:

* **What is a file of an entity.** Exactly what the entity's pattern declares
  (:attr:`Entity.file_regex`, :attr:`Entity.correction_regex`), in a folder named after a real
  calendar day. Everything else under the root (a half-written ``.tmp`` upload, a ``.bak``, a
  ``.bz2``, ``Orders_1.CSV``, a ``2026-02-30`` folder) is never loaded and is reported by
  :meth:`LandingZone.scan` with the reason, so ``cxw status`` can say why it was skipped.
* **Nothing outside the zone is read.** Symbolic links (to files or folders), hard links, named
  pipes and devices are refused when listed, and again when opened: a local file is opened
  folder by folder from the root without following any link, so a swap between listing and
  opening is refused too. Otherwise a link to ``/etc/passwd`` gets loaded.
* **Whether a file changed since it was loaded** without reading it: the listing carries each
  file's size and modification time (nanoseconds), and on object stores that give one its
  version (ETag, object version or generation); :func:`unchanged` compares them with what
  ``audit.load_audit`` recorded, so a daily run opens only new and changed files.
* **Reading is bounded.** A file is only ever streamed; a gzip that unpacks to more than
  :data:`MAX_RATIO` times its size (above :data:`RATIO_FLOOR`), or any file beyond
  :data:`MAX_BYTES`, raises :class:`LandingError` naming the file instead of exhausting memory or
  disk; :meth:`LandingZone.lines` caps the length of one line.

The ``{date}`` folder is the delivery date, which decides which data interval picks a file up.
"""

from __future__ import annotations

import errno
import functools
import gzip
import hashlib
import io
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any, NamedTuple

from cx_warehouse.ingest.sources import CORRECTIONS_FOLDER, EXTENSIONS, Entity, pattern_regex

CHUNK = 1 << 20
"""Bytes read at a time; :meth:`LandingZone.chunks` yields pieces of this size (the last smaller)."""
MAX_RATIO = 100
"""A gzip may unpack to this many times its compressed size (CSV exports reach 10-20) ..."""
RATIO_FLOOR = 64 << 20
"""... or to this many bytes, whichever is more: small files of repetitive rows compress well."""
MAX_BYTES = 16 << 30
"""No file, compressed or not, is read beyond this many bytes."""

SETTLE_SECONDS = 2.0
"""A modification time this close to the moment a file was read does not vouch for its bytes.

File systems stamp writes with a coarse clock (a few milliseconds; FAT two seconds, S3's
LastModified one second), so a second write of the same size within that step can keep the
stamp of the bytes that were read. Such a stamp is not recorded (:func:`trusted_mtime`) and the
next run hashes the file, by then safely older."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DELIVERY, CORRECTION = "delivery", "correction"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""A delivery-date folder's shape, ASCII digits only (``\\d`` also takes other scripts' digits)."""
_UNFINISHED = frozenset((".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".filepart",
                         ".upload", ".uploading", ".incomplete", ".inprogress", ".swp"))
_BACKUP = frozenset((".bak", ".old", ".orig", ".backup", ".save", ".prev", ".sav"))
_COMPRESSED = frozenset((".bz2", ".xz", ".zip", ".zst", ".lz4", ".7z", ".z", ".br", ".lzma", ".lz", ".tgz",
                         ".snappy"))
_LINK = "symbolic link: refused (only files stored in the landing zone are read; copy the file in)"
_DIR_LINK = "symbolic link to a folder: refused, nothing under it is read (copy the files in)"
_OUTSIDE = "resolves outside the landing zone: refused"


class LandingError(RuntimeError):
    """The landing zone cannot be read as configured, or one file in it is refused.

    The message is one sentence naming the setting or the file and what to do; it never holds
    file content. The loader records it as the file's failed audit row.
    """


@functools.total_ordering
@dataclass(frozen=True)
class LandedFile:
    """One delivered file. Sorts by :attr:`order_key`: delivery date, then a day's deliveries
    before that day's corrections, then path."""

    delivery_date: date
    path: str
    """Path relative to the landing root, with forward slashes."""
    size: int
    kind: str = DELIVERY
    """``"delivery"``, or ``"correction"`` for a file in ``<day>/corrections/``."""
    mtime_ns: int | None = field(default=None, compare=False)
    """Modification time as listed (nanoseconds since the epoch); None when the store gives none."""
    version: str | None = field(default=None, compare=False)
    """The store's version of the object when it gives one (S3 ETag or VersionId, GCS generation,
    Azure ETag): it changes with every write, whatever the clock says. None for local files."""

    @property
    def compressed(self) -> bool:
        return self.path.endswith(".gz")

    @property
    def is_correction(self) -> bool:
        return self.kind == CORRECTION

    @property
    def order_key(self) -> tuple[date, bool, str]:
        """Load order: a correction is applied after the deliveries of its day."""
        return (self.delivery_date, self.kind == CORRECTION, self.path)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, LandedFile):
            return NotImplemented
        return self.order_key < other.order_key


@dataclass(frozen=True)
class IgnoredFile:
    """A file under the landing root that is never loaded, and why (for ``cxw status``)."""

    path: str
    reason: str


@dataclass
class ScanResult:
    files: dict[str, list[LandedFile]] = field(default_factory=dict)
    """Per entity table (``crm_orders``): its deliveries and corrections, oldest first."""
    ignored: list[IgnoredFile] = field(default_factory=list)
    """Everything else under the root, by path."""


class _Listed(NamedTuple):
    """One entry of :meth:`LandingZone._listing`."""

    path: str
    size: int = 0
    refused: str | None = None
    mtime_ns: int | None = None
    version: str | None = None


class Line(NamedTuple):
    """One line of :meth:`LandingZone.lines`."""

    number: int
    data: bytes
    too_long: bool = False


def _size(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    value, units = n / 1024, ["KiB", "MiB", "GiB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{value:.1f} {units[0]}".replace(".0 ", " ")


def _day(text: str) -> date | None:
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class _BoundedReader(io.RawIOBase):
    """Counts the bytes read through it and refuses to go past ``limit``."""

    def __init__(self, inner: IO[bytes] | gzip.GzipFile, raw: IO[bytes], path: str, limit: int, why: str) -> None:
        super().__init__()
        self._inner, self._raw, self._path, self._limit, self._why = inner, raw, path, limit, why
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._inner.readinto(buffer)  # type: ignore[union-attr]
        self.count += n or 0
        if self.count > self._limit:
            raise LandingError(f"{self._path}: {self._why}")
        return n or 0

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                if self._raw is not self._inner:
                    self._raw.close()
        super().close()


class LandingZone:
    """Lists, classifies and opens delivered files under one root URL or path.

    ``max_ratio``, ``ratio_floor`` and ``max_bytes`` bound what one file may unpack to (see the
    module constants); tests lower them.
    """

    def __init__(self, url: str, *, max_ratio: float = MAX_RATIO, ratio_floor: int = RATIO_FLOOR,
                 max_bytes: int = MAX_BYTES) -> None:
        import fsspec
        from fsspec.implementations.local import LocalFileSystem

        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")
        self.max_ratio, self.ratio_floor, self.max_bytes = max_ratio, ratio_floor, max_bytes
        self._local = isinstance(self.fs, LocalFileSystem)
        self._real_root = os.path.realpath(self.root or "/") if self._local else ""
        self._checked = False

    # -- the root ------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`LandingError` unless the root exists and is a folder (checked once)."""
        if self._checked:
            return
        fix = "set CX_LANDING to the folder or URL source systems deliver into"
        if self._local:
            if not os.path.exists(self.root):
                raise LandingError(f"CX_LANDING={self.url} does not exist: {fix}")
            if not os.path.isdir(self.root):
                raise LandingError(f"CX_LANDING={self.url} is a file, not a folder: {fix}")
            if not os.access(self.root, os.R_OK | os.X_OK):
                raise LandingError(f"CX_LANDING={self.url} cannot be listed (permission denied): "
                                   "give the loader's user read access to it")
        else:
            try:
                is_dir = self.fs.isdir(self.root)
                exists = is_dir or self.fs.exists(self.root)
            except Exception as exc:  # any backend's error: credentials, network, bucket
                raise LandingError(f"CX_LANDING={self.url} cannot be reached ({type(exc).__name__}): "
                                   f"check the URL and the credentials, or {fix}") from exc
            if not exists:
                raise LandingError(f"CX_LANDING={self.url} does not exist (or holds no file yet): {fix}")
            if not is_dir:
                raise LandingError(f"CX_LANDING={self.url} is a file, not a folder: {fix}")
        self._checked = True

    # -- listing -------------------------------------------------------------------------
    def scan(self, entities: Iterable[Entity]) -> ScanResult:
        """Every file under the root, once: each entity's deliveries and corrections (oldest
        first), and every other file with the reason it is never loaded."""
        self.check()
        entities = list(entities)
        out = ScanResult(files={e.table: [] for e in entities})
        for entry in self._listing(""):
            if entry.refused is not None:
                out.ignored.append(IgnoredFile(entry.path, entry.refused))
                continue
            got = _classify(entry, entities)
            if isinstance(got, str):
                out.ignored.append(IgnoredFile(entry.path, got))
            else:
                out.files[got[0].table].append(got[1])
        for files in out.files.values():
            files.sort()
        out.ignored.sort(key=lambda i: i.path)
        return out

    def find(self, entity: Entity, until: date | None = None) -> list[LandedFile]:
        """Files of ``entity`` (deliveries and corrections) delivered before ``until``
        (exclusive), in load order: :attr:`LandedFile.order_key`. Classified as :meth:`scan`
        does, so links and anything outside the root are never returned."""
        self.check()
        found = []
        for entry in self._listing(entity.folder):
            if entry.refused is not None:
                continue
            got = _classify(entry, [entity])
            if not isinstance(got, str) and (until is None or got[1].delivery_date < until):
                found.append(got[1])
        return sorted(found)

    def _listing(self, prefix: str) -> Iterator[_Listed]:
        """Every file under ``prefix``: its path relative to the root, size, modification time and
        version, or the reason it is refused."""
        if self._local:
            yield from self._walk_local(prefix)
            return
        base = f"{self.root}/{prefix}" if prefix else self.root
        if prefix and not self.fs.isdir(base):
            return
        for full, info in sorted(self.fs.find(base, detail=True, withdirs=False).items()):
            full = str(full)
            if not full.startswith(self.root + "/"):
                yield _Listed(full, refused=_OUTSIDE)
                continue
            rel = full[len(self.root) + 1 :]
            if any(part in ("", ".", "..") for part in rel.split("/")):
                yield _Listed(rel, refused="path has an empty, '.' or '..' part: refused")
            elif info.get("islink"):
                yield _Listed(rel, refused=_LINK)
            elif info.get("type", "file") != "file":
                yield _Listed(rel, refused="not a regular file: refused")
            else:
                yield _Listed(rel, int(info.get("size") or 0), None, _info_mtime_ns(info), _info_version(info))

    def _walk_local(self, prefix: str) -> Iterator[_Listed]:
        root = self._real_root
        # Every folder between the root and the prefix must be a real folder, not a link.
        rel = ""
        for part in prefix.split("/") if prefix else []:
            rel = f"{rel}/{part}" if rel else part
            try:
                st = os.lstat(os.path.join(root, rel))
            except FileNotFoundError:
                return
            if not stat.S_ISDIR(st.st_mode):
                return  # a link or a file where the folder should be: scan reports it
        stack = [prefix]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(os.path.join(root, folder) if folder else root), key=lambda e: e.name)
            except OSError as exc:
                if not folder:
                    raise LandingError(f"CX_LANDING={self.url} cannot be listed ({exc.strerror})") from None
                yield _Listed(folder, refused=f"folder cannot be listed ({exc.strerror}): nothing in it is read")
                continue
            for entry in entries:
                path = f"{folder}/{entry.name}" if folder else entry.name
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    yield _Listed(path, refused=f"cannot be read ({exc.strerror})")
                    continue
                if stat.S_ISLNK(st.st_mode):
                    yield _Listed(path, refused=_DIR_LINK if os.path.isdir(entry.path) else _LINK)
                elif stat.S_ISDIR(st.st_mode):
                    stack.append(path)
                elif not stat.S_ISREG(st.st_mode):
                    yield _Listed(path, refused="not a regular file (a named pipe, socket or device): refused")
                elif st.st_nlink > 1:
                    yield _Listed(path, refused=(f"hard link (the file has {st.st_nlink} names): refused, it may "
                                                 "be a file from outside the landing zone; copy it in instead"))
                else:
                    # No realpath per file: the walk starts at the resolved root and enters only
                    # folders that are not links, so a regular file here is inside the zone (a
                    # year of history is thousands of files, and realpath costs an lstat per
                    # folder of each). Opening checks again, folder by folder (_open_beneath).
                    yield _Listed(path, st.st_size, None, st.st_mtime_ns)

    # -- reading -------------------------------------------------------------------------
    def full_path(self, f: LandedFile) -> str:
        return f"{self.root}/{f.path}"

    def _open_raw(self, f: LandedFile) -> tuple[IO[bytes], int]:
        """The file's stored bytes and their size, refusing what :meth:`scan` refuses."""
        parts = f.path.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise LandingError(f"{f.path}: path has an empty, '.' or '..' part: refused")
        if not self._local:
            fh = self.fs.open(self.full_path(f), "rb")
            return fh, int(getattr(fh, "size", None) or f.size)
        fd = _open_beneath(self._real_root, parts, f.path)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise LandingError(f"{f.path}: not a regular file (a named pipe, socket or device): refused")
            if st.st_nlink > 1:
                raise LandingError(f"{f.path}: hard link (the file has {st.st_nlink} names): refused; copy it in")
            if not _inside(os.path.realpath(os.path.join(self._real_root, *parts)), self._real_root):
                raise LandingError(f"{f.path}: {_OUTSIDE}")
            return os.fdopen(fd, "rb", buffering=0), st.st_size
        except BaseException:
            os.close(fd)
            raise

    def sha256(self, f: LandedFile) -> str:
        """SHA-256 of the stored (compressed) bytes, streamed."""
        h = hashlib.sha256()
        raw, _ = self._open_raw(f)
        with raw:
            while chunk := raw.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def open(self, f: LandedFile) -> IO[bytes]:
        """The file's bytes, gunzipped when its name ends in ``.gz``, as a buffered stream.

        Reading raises :class:`LandingError` naming the file once more than the limits allow has
        been read (see the module docstring); corrupt gzip raises ``OSError``/``EOFError``. Read it
        in pieces (``read(n)``, ``readline(limit)``, :meth:`chunks`, :meth:`lines`): an unbounded
        ``read()`` or ``readline()`` holds up to the limit in memory.
        """
        raw, stored = self._open_raw(f)
        try:
            if not f.compressed:
                why = f"is larger than {_size(self.max_bytes)}, the most the loader reads from one file: refused"
                reader = _BoundedReader(raw, raw, f.path, self.max_bytes, why)
            else:
                limit = min(max(int(self.max_ratio * stored), self.ratio_floor), self.max_bytes)
                if limit == self.max_bytes:
                    why = (f"unpacks to more than {_size(self.max_bytes)}, the most the loader reads from one "
                           "file: refused; split the delivery into smaller files")
                else:
                    why = (f"unpacks to more than {_size(limit)}, over {self.max_ratio:g} times its compressed "
                           f"size ({_size(stored)}): refused as a likely decompression bomb; if it is genuine, "
                           "deliver it uncompressed or in smaller files")
                reader = _BoundedReader(gzip.GzipFile(fileobj=raw, mode="rb"), raw, f.path, limit, why)
        except BaseException:
            raw.close()
            raise
        return io.BufferedReader(reader, buffer_size=CHUNK)

    def chunks(self, f: LandedFile) -> Iterator[bytes]:
        """The file's (unpacked) bytes in pieces of :data:`CHUNK` bytes, the last one smaller."""
        with self.open(f) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def lines(self, f: LandedFile, max_line: int) -> Iterator[Line]:
        """The file's (unpacked) lines, streamed, each at most ``max_line`` bytes.

        Contract:

        * A line ends at ``b"\\n"``, which is not part of :attr:`Line.data`; anything else,
          ``b"\\r"`` and a byte-order mark included, is left to the caller.
        * :attr:`Line.number` counts from 1 and counts every line, empty ones included, so it is
          the line number an editor shows (not a record number: a CSV value may span lines).
        * A last line without a final ``b"\\n"`` is yielded like any other; a file ending in
          ``b"\\n"`` yields no empty line after it, and an empty file yields nothing.
        * A line longer than ``max_line`` bytes is yielded once with ``too_long=True`` and its
          first ``max_line`` bytes; the rest of it is read and discarded, never held, and the
          next line has the right number.
        * At most ``max_line`` + :data:`CHUNK` bytes are held at a time, so memory stays bounded
          whatever the file holds; :class:`LandingError` from :meth:`open` propagates.
        """
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        number = 0
        pending = bytearray()
        too_long = False
        for chunk in self.chunks(f):
            view = memoryview(chunk)
            start = 0
            while True:
                nl = chunk.find(b"\n", start)
                end = len(chunk) if nl < 0 else nl
                if not too_long:
                    room = max_line - len(pending)
                    if end - start > room:
                        pending += view[start : start + room]
                        too_long = True
                    else:
                        pending += view[start:end]
                if nl < 0:
                    break
                number += 1
                yield Line(number, bytes(pending), too_long)
                pending.clear()
                too_long = False
                start = nl + 1
        if pending or too_long:
            yield Line(number + 1, bytes(pending), too_long)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _open_beneath(root: str, parts: list[str], shown: str) -> int:
    """Open ``root/parts...`` read-only without following a link at any level: folder by folder
    relative to the previous one (``dir_fd``), each with ``O_NOFOLLOW``, the file non-blocking so a
    named pipe cannot stall the loader."""
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    flags = os.O_RDONLY | nofollow | getattr(os, "O_CLOEXEC", 0)
    dflags = flags | getattr(os, "O_DIRECTORY", 0)
    fflags = flags | getattr(os, "O_NONBLOCK", 0)
    refused = (errno.ELOOP, errno.EMLINK, errno.ENOTDIR)
    try:
        if os.open not in os.supports_dir_fd or not nofollow:
            current = root
            for part in parts[:-1]:
                current = os.path.join(current, part)
                if not stat.S_ISDIR(os.lstat(current).st_mode):
                    raise OSError(errno.ELOOP, "not a folder")
            return os.open(os.path.join(current, parts[-1]), fflags)
        fd = os.open(root, dflags)
        try:
            for part in parts[:-1]:
                child = os.open(part, dflags, dir_fd=fd)
                os.close(fd)
                fd = child
            return os.open(parts[-1], fflags, dir_fd=fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in refused:
            raise LandingError(f"{shown}: is a symbolic link or under one: refused (only files stored in "
                               "the landing zone are read)") from None
        raise


# -- has a file changed since it was loaded? --------------------------------------------
def unchanged(f: LandedFile, size: int | None, mtime_ns: int | None, version: str | None) -> bool:
    """True when the listing shows ``f`` as it was recorded, so its bytes need not be read.

    The size must be the same; then the store's version, when either side has one (an object
    store's ETag or generation changes with every write), else the modification time to the
    nanosecond. A time that was not recorded (None: too recent when it was read, or a row of a
    release before this check) never matches, so that file is hashed once more.

    Not detected: bytes rewritten in place with the size kept and the modification time set back
    (``touch -r``, some copy tools' "preserve times"); ``cxw load --rehash`` hashes every file.
    """
    if size is None or size != f.size:
        return False
    if f.version is not None or version is not None:
        return f.version == version
    return mtime_ns is not None and mtime_ns == f.mtime_ns


def trusted_mtime(f: LandedFile, read_started_ns: int) -> int | None:
    """The modification time to record for ``f``'s bytes read from ``read_started_ns`` on, or None.

    A write after the read began gets a later time, unless the clock's step hides it: so a time
    within :data:`SETTLE_SECONDS` of the read is not recorded.
    """
    if f.mtime_ns is None or f.mtime_ns > read_started_ns - int(SETTLE_SECONDS * 1e9):
        return None
    return f.mtime_ns


def _info_mtime_ns(info: dict[str, Any]) -> int | None:
    """An fsspec entry's modification time in nanoseconds (each backend names it differently)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        try:
            if isinstance(value, datetime):
                when = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
                return (when - _EPOCH) // timedelta(microseconds=1) * 1000
            if isinstance(value, str):
                return _info_mtime_ns({key: datetime.fromisoformat(value.replace("Z", "+00:00"))})
            return int(float(value) * 1e9)
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def _info_version(info: dict[str, Any]) -> str | None:
    """An fsspec entry's object version: S3 VersionId or ETag, GCS generation, Azure etag."""
    for key in ("VersionId", "version_id", "generation", "ETag", "etag", "md5Hash", "content_md5"):
        value = info.get(key)
        if value not in (None, "", "null"):
            return f"{key}:{str(value).strip(chr(34))}"
    return None


# -- classification --------------------------------------------------------------------
def _classify(entry: _Listed, entities: list[Entity]) -> tuple[Entity, LandedFile] | str:
    """The entity and file ``entry`` is, or why it is none (one sentence for ``cxw status``)."""
    rel = entry.path
    hits: list[tuple[Entity, LandedFile]] = []
    bad_day = None
    for e in entities:
        for regex, kind in ((e.file_regex, DELIVERY), (e.correction_regex, CORRECTION)):
            m = regex.fullmatch(rel)
            if m is None:
                continue
            day = _day(m.group("date"))
            if day is None:
                bad_day = m.group("date")
            else:
                hits.append((e, LandedFile(day, rel, entry.size, kind, entry.mtime_ns, entry.version)))
    if len(hits) == 1:
        return hits[0]
    if hits:
        names = " and ".join(f"{e.source}.{e.name}" for e, _ in hits)
        return f"matches the patterns of {names}: never loaded until one pattern is narrowed"
    if bad_day is not None:
        return f"folder {bad_day} is not a calendar date: a delivery-date folder is a real day, YYYY-MM-DD"
    return _why_not(rel, entities)


def _why_not(rel: str, entities: list[Entity]) -> str:
    name = rel.rsplit("/", 1)[-1]
    owners = sorted((e for e in entities if rel.startswith(e.folder + "/")), key=lambda e: -len(e.folder))
    if not owners:
        for e in entities:
            if rel.lower().startswith(e.folder.lower() + "/"):
                return f"names are case-sensitive: did you mean {e.pattern}?"
        if name.startswith("."):
            return "hidden file (name starts with '.'): never loaded, and not under any declared entity folder"
        return "not under any declared entity folder (the patterns are in config/sources/*.yml)"
    e = owners[0]
    parts = rel[len(e.folder) + 1 :].split("/")
    if len(parts) == 1:
        return f"not in a delivery-date folder: files of {e.source}.{e.name} go in {e.pattern}"
    if _day(parts[0]) is None:
        if _DAY.fullmatch(parts[0]):
            return f"folder {parts[0]} is not a calendar date: a delivery-date folder is a real day, YYYY-MM-DD"
        return f"folder {parts[0]} is not a delivery date (YYYY-MM-DD): files of {e.source}.{e.name} go in {e.pattern}"
    if len(parts) == 2:
        return _name_hint(name, e.pattern, e)
    if len(parts) == 3 and parts[1] == CORRECTIONS_FOLDER:
        return _name_hint(name, e.correction_pattern, e)
    if len(parts) == 3 and parts[1].lower() == CORRECTIONS_FOLDER:
        return f"names are case-sensitive: did you mean {e.correction_pattern}?"
    return (f"in a sub-folder of a delivery-date folder: only {e.pattern} and "
            f"{e.correction_pattern} are loaded")


def _name_hint(name: str, pattern: str, e: Entity) -> str:
    declared = pattern.rsplit("/", 1)[1]
    regex = pattern_regex(declared)
    base = f"not named like {pattern} (or {EXTENSIONS[e.format]}.gz)"
    if re.compile(regex.pattern, re.IGNORECASE).fullmatch(name):
        return f"names are case-sensitive: did you mean {declared}?"
    stem, dot, suffix = name.rpartition(".")
    ending = (dot + suffix).lower()
    if name.endswith("~") and regex.fullmatch(name[:-1]):
        return f"{base}: a backup (~) is never loaded"
    if stem and regex.fullmatch(stem):
        if ending in _UNFINISHED:
            return f"{base}: a half-written upload ({ending}) is never loaded; it is loaded once renamed to its final name"
        if ending in _BACKUP:
            return f"{base}: a backup ({ending}) is never loaded"
        if ending in _COMPRESSED:
            return f"{base}: another compression ({ending}) is never loaded, only gzip (.gz) is read"
        return f"{base}: the name has an extra ending ({ending})"
    if stem and ending in _COMPRESSED and regex.fullmatch(stem.removesuffix(".gz")):
        return f"{base}: another compression ({ending}) is never loaded, only gzip (.gz) is read"
    if name.startswith("."):
        return f"{base}: a hidden file (name starts with '.') is never loaded; upload tools write these mid-transfer"
    return f"{base}: a half-written upload (.tmp), a backup (.bak) or another compression (.bz2) is never loaded"
