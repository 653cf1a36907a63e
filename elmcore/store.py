"""The run store: every candidate of a run, its lineage and outcome, in SQLite (WAL).

A batch is committed in one transaction, so a run killed at any moment holds whole
batches only; candidate ids are consecutive in commit order, so a resumed run assigns
the same ids to the same work and nothing is stored twice (the primary key refuses it).
The store plus the resolved config is all a run needs to resume or to feed fine-tuning.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from elmcore.types import BatchStats, InsertStatus, Outcome

STORE_FILE = "store.sqlite"
LOCK_FILE = STORE_FILE + ".lock"  # held (flock) by the one process that writes the run
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    batch INTEGER NOT NULL,
    parent_id INTEGER,
    operator TEXT NOT NULL,
    message TEXT,
    prompt TEXT,
    completion TEXT,
    diff TEXT,
    program TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    fitness REAL,
    descriptors TEXT,
    niche INTEGER,
    status TEXT,
    entered INTEGER NOT NULL DEFAULT 0,
    eval_seconds REAL,
    extras TEXT,
    created REAL NOT NULL,
    program_hash TEXT,
    duplicate_of INTEGER
);
CREATE INDEX IF NOT EXISTS candidates_batch ON candidates(batch);
CREATE INDEX IF NOT EXISTS candidates_niche ON candidates(niche) WHERE entered = 1;
CREATE TABLE IF NOT EXISTS batches (
    batch INTEGER PRIMARY KEY,
    first_id INTEGER NOT NULL,
    size INTEGER NOT NULL,
    generate_seconds REAL,
    evaluate_seconds REAL,
    stats TEXT,
    finished REAL NOT NULL
);
"""


class StoreError(RuntimeError):
    pass


@dataclass
class CandidateRecord:
    """One row of the ``candidates`` table. ``outcome`` and ``status`` are enums (string
    enums: they compare equal to their values); a value given as its string is converted,
    and one that is neither raises ``ValueError`` naming it."""

    id: int
    batch: int
    parent_id: int | None
    operator: str
    program: str | None
    outcome: Outcome
    reason: str | None = None
    message: str | None = None
    prompt: str | None = None
    completion: str | None = None
    diff: str | None = None
    fitness: float | None = None
    descriptors: tuple[float, ...] | None = None
    niche: int | None = None
    status: InsertStatus | None = None  # valid candidates: how the archive took it
    entered: bool = False
    eval_seconds: float | None = None
    extras: dict[str, Any] | None = None
    program_hash: str | None = None  # sha256 of the domain's normalised program (elmcore.duplicates)
    duplicate_of: int | None = None  # outcome "duplicate": the candidate whose program this repeats

    def __post_init__(self) -> None:
        self.outcome = _member(Outcome, self.outcome, f"the outcome of candidate {self.id}")
        if self.status is not None:
            self.status = _member(InsertStatus, self.status, f"the insert status of candidate {self.id}")


def _member(enum: Any, value: Any, what: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"{what} is {value!r}, not one of {', '.join(m.value for m in enum)}") from None


_COLUMNS = ("id", "batch", "parent_id", "operator", "message", "prompt", "completion", "diff", "program",
            "outcome", "reason", "fitness", "descriptors", "niche", "status", "entered", "eval_seconds",
            "extras", "created", "program_hash", "duplicate_of")
_ELITE_IDS = "SELECT MAX(id) FROM candidates WHERE entered = 1 GROUP BY niche"  # each niche's current elite
_ADDED_COLUMNS = {"program_hash": "TEXT", "duplicate_of": "INTEGER"}  # not in stores made before them


_EDITED = "the store was edited or damaged: restore it from a copy, or start a new run"


def edited_store_error(path: Path, what: str) -> "StoreError":
    """The one-line error for a value of store ``path`` that no run writes (``what`` names it)."""
    return StoreError(f"run store {path}: {what}; {_EDITED}")


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def storable(value: Any) -> Any:
    """``value`` with every string in it made storable as UTF-8: a lone surrogate (which a
    program, a model or a decoder with ``surrogateescape`` can produce, and which SQLite
    and every file refuse) is written as its backslash escape, e.g. ``\\udcff``. Lists,
    tuples and dicts are walked (keys too); other values are returned as they are. Strings
    without surrogates come back unchanged, so this is cheap on ordinary text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    return value


class ValidCandidate(NamedTuple):
    """A committed valid candidate, as the archive saw it (``valid_by_batch``)."""

    id: int
    program: str
    fitness: float
    descriptors: tuple[float, ...]
    niche: int | None  # where it was placed when its batch was committed
    entered: bool  # whether it became the niche's elite then


def check_new_run_dir(run_dir: Path) -> None:
    """Refuse, with one StoreError, a directory a new run must not be started in: a symbolic
    link (to anything: a run directory is never reached through a link), something that is
    not a directory, a directory holding a run, or one holding anything else (a run would
    replace its ``config.yaml`` and leave its other files readable). A new or empty directory
    passes, as does one holding only what a start killed before its store was complete left."""
    if run_dir.is_symlink():
        target = os.readlink(run_dir)
        if not run_dir.exists():
            raise StoreError(f"{run_dir} is a dangling symbolic link (to {target}, which does not exist); "
                             "remove the link or choose another --out")
        raise StoreError(f"{run_dir} is a symbolic link (to {target}); a run directory is not reached through a "
                         "link: give the directory itself or choose another --out")
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise StoreError(f"{run_dir} exists and is not a directory; choose another --out")
    if (run_dir / STORE_FILE).exists():
        raise StoreError(f"{run_dir} already holds a run; continue it with `elm resume {run_dir}` "
                         "or choose another --out")
    try:
        others = sorted(entry.name for entry in os.scandir(run_dir) if not entry.name.startswith(STORE_FILE))
    except OSError as exc:
        raise StoreError(f"cannot read the run directory {run_dir}: {exc.strerror}; choose another --out") from exc
    if others:
        raise StoreError(f"{run_dir} is not empty and holds no run ({len(others)} entries, e.g. {others[0]!r}); "
                         "choose a new or empty directory for --out (nothing was written)")


class RunStore:
    """SQLite store of one run directory. Use ``RunStore.create`` or ``RunStore.open``."""

    def __init__(self, path: Path, readonly: bool = False, new: bool = False) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None
        if not readonly and self.path.exists() and not os.access(self.path.parent, os.W_OK):
            raise StoreError(f"run directory {self.path.parent} is not writable (read-only file system or "
                             "permissions); make it writable or copy it somewhere writable, then `elm resume` there")
        if not readonly:
            self._lock()
        try:
            self._db = sqlite3.connect(f"file:{self.path}" + ("?mode=ro" if readonly else ""), uri=True, timeout=30,
                                       isolation_level=None)
            if readonly:
                try:
                    self._db.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
                except sqlite3.OperationalError:  # WAL on a read-only medium: no writer can be active
                    self._db.close()
                    self._db = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, isolation_level=None)
            else:
                if not new:  # an existing store: never write a schema into something else
                    self._check_is_a_store()
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._add_columns()
            self._check_is_a_store()
            self._present = {row[1] for row in self._db.execute("PRAGMA table_info(candidates)")}
        except sqlite3.Error as exc:
            self._unlock()
            raise StoreError(f"cannot open run store {self.path}: {exc}. "
                             "Check that the run directory exists, is writable and has free space.") from exc
        except StoreError:
            self._unlock()
            raise

    def _lock(self) -> None:
        """Take the run's lock (``LOCK_FILE``, flock): one process writes a run at a time, so a
        second `elm resume` of a run that is still going is refused instead of competing
        with it. The kernel drops the lock when the holder exits, however it exits."""
        run_dir = self.path.parent
        try:
            fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot lock the run in {run_dir}: {exc.strerror}. Check that the directory is "
                             "writable.") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 20, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise StoreError(f"the run in {run_dir} is in use: {who} is writing it (a run or resume still going); "
                             f"wait for it to end or stop it, then `elm resume {run_dir}`") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def _unlock(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)  # type: ignore[arg-type]
            self._lock_fd = None

    def __del__(self) -> None:  # a store dropped without close() (its connection closes too) frees the run
        self._unlock()

    def _add_columns(self) -> None:
        """Columns added to the schema since a store was made, added to it (empty)."""
        present = {row[1] for row in self._db.execute("PRAGMA table_info(candidates)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE candidates ADD COLUMN {column} {kind}")

    def _columns(self, alias: str = "") -> str:
        """The select list of a whole candidate row; a column an older read-only store lacks
        reads as NULL."""
        prefix = f"{alias}." if alias else ""
        return ", ".join(f"{prefix}{c}" if c in self._present else f"NULL AS {c}" for c in _COLUMNS)

    def _check_is_a_store(self) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted({"meta", "candidates", "batches"} - tables)
        if missing:
            self._db.close()
            empty = " is empty (0 bytes)" if self.path.stat().st_size == 0 else f" has no table {', '.join(missing)}"
            raise StoreError(f"{self.path}{empty}: it is not a run store made by `elm run`; restore it from a copy "
                             "or start a new run with `elm run --out DIR`")

    def _decode(self, text: Any, what: str, kind: type | None = None) -> Any:
        """JSON ``text`` of the store, checked to be a ``kind``: a hand-edited or damaged value
        is one clear StoreError naming it."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise StoreError(f"run store {self.path}: {what} is not valid JSON ({str(text)[:40]!r}); {_EDITED}"
                             ) from None
        if kind is not None and not isinstance(value, kind):
            raise StoreError(f"run store {self.path}: {what} is a {type(value).__name__}, not a "
                             f"{'mapping' if kind is dict else kind.__name__}; {_EDITED}")
        return value

    def _descriptors(self, text: Any, cid: int) -> tuple[float, ...]:
        values = self._decode(text, f"the descriptors of candidate {cid}", list)
        if not all(_is_finite(v) for v in values):
            raise StoreError(f"run store {self.path}: the descriptors of candidate {cid} are not all finite numbers "
                             f"({str(values)[:40]}); {_EDITED}")
        return tuple(values)

    @classmethod
    def create(cls, run_dir: Path, meta: dict[str, Any] | None = None) -> "RunStore":
        """A new store holding ``meta``. It is built under a temporary name and renamed into
        place, so a run killed while starting leaves either no store or a complete one.
        ``run_dir`` must be new or an empty directory (not a link): see ``check_new_run_dir``."""
        run_dir = Path(run_dir)
        path = run_dir / STORE_FILE
        check_new_run_dir(run_dir)
        partial = run_dir / (STORE_FILE + ".partial")
        try:
            # only the run's owner may look inside: sandboxed programs run as other users
            run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(run_dir, 0o700, follow_symlinks=False)  # an empty directory given by the user too
            for leftover in ("", "-wal", "-shm", "-journal"):  # of a start that was killed
                Path(f"{partial}{leftover}").unlink(missing_ok=True)
            os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # SQLite's -wal/-shm copy this mode
        except OSError as exc:
            raise StoreError(f"cannot create the run store in {run_dir}: {exc.strerror}. "
                             "Check that the directory is writable and the disk is not full.") from exc
        try:
            building = cls(partial, new=True)
            try:
                building.set_meta("schema_version", SCHEMA_VERSION)
                for key, value in (meta or {}).items():
                    building.set_meta(key, value)
                building._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                building.close()
            os.rename(partial, path)
        except (StoreError, sqlite3.Error, OSError) as exc:
            for leftover in ("", "-wal", "-shm", "-journal"):
                Path(f"{partial}{leftover}").unlink(missing_ok=True)
            cause = str(exc.__cause__ or exc).split(". Check")[0] if isinstance(exc, StoreError) else str(exc)
            raise StoreError(f"cannot create the run store in {run_dir} ({cause}). "
                             "Check that the directory is writable and the disk is not full.") from exc
        return cls(path)

    @classmethod
    def open(cls, run_dir: Path, readonly: bool = False) -> "RunStore":
        path = Path(run_dir) / STORE_FILE
        if not path.is_file():
            raise StoreError(f"{run_dir} is not a run directory (no {STORE_FILE}); start one with `elm run --out DIR`")
        return cls(path, readonly=readonly)

    def close(self) -> None:
        self._db.close()
        self._unlock()

    def discard(self) -> None:
        """Close the store and delete its files: for a run that failed before it held anything
        worth keeping, so its directory can be used again."""
        self._db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        (self.path.parent / LOCK_FILE).unlink(missing_ok=True)
        self._unlock()

    # -- meta ---------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(storable(value))))

    def get_meta(self, key: str, default: Any = None, kind: type | None = None) -> Any:
        """The value stored under ``key`` (``default`` if none); with ``kind``, checked to be one."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return self._decode(row[0], f"meta {key!r}", kind) if row else default

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to run store {self.path}: {exc}") from exc

    # -- batches ------------------------------------------------------------------
    def next_batch(self) -> int:
        row = self._db.execute("SELECT MAX(batch) FROM batches").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def count(self) -> int:
        """Every stored candidate, duplicates included (the next candidate's id)."""
        return self._db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]

    def evaluations(self) -> int:
        """Candidates that count against the budget: all but the duplicates."""
        return self._db.execute("SELECT COUNT(*) FROM candidates WHERE outcome != 'duplicate'").fetchone()[0]

    def program_keys(self) -> dict[str, int]:
        """Hash of each normalised program sent for evaluation -> the first candidate with it."""
        if "program_hash" not in self._present:
            return {}
        return dict(self._db.execute("SELECT program_hash, MIN(id) FROM candidates WHERE program_hash IS NOT NULL "
                                     "GROUP BY program_hash"))

    def unhashed_programs(self) -> Iterator[tuple[int, str]]:
        """(id, program) of evaluated candidates stored without a hash (by a version of elm
        before hashes were stored), in id order."""
        where = "program_hash IS NULL AND " if "program_hash" in self._present else ""
        yield from self._db.execute(f"SELECT id, program FROM candidates WHERE {where}program IS NOT NULL AND "
                                    "outcome IN ('not_runnable', 'invalid', 'valid') ORDER BY id")

    def trailing_stalled_batches(self) -> int:
        """How many of the last batches hold nothing but duplicates (no evaluation at all)."""
        stalled = 0
        for (evaluations,) in self._db.execute(
                "SELECT SUM(outcome != 'duplicate') FROM candidates GROUP BY batch ORDER BY batch DESC"):
            if evaluations:
                break
            stalled += 1
        return stalled

    def commit_batch(self, batch: int, records: Sequence[CandidateRecord], generate_seconds: float,
                     evaluate_seconds: float, stats: BatchStats | dict[str, Any]) -> None:
        """Write a whole batch atomically; it is either all there or not at all. ``stats`` is a
        search run's BatchStats, or a learning iteration's statistics (the learner's own keys)."""
        if isinstance(stats, BatchStats):
            stats = stats.to_json()
        now = time.time()
        # every string here may come from outside the engine (a program's output, a model's
        # reply): one that UTF-8 cannot hold must not make the batch, and so the run, fail
        rows = [(
            r.id, r.batch, r.parent_id, storable(r.operator), storable(r.message), storable(r.prompt),
            storable(r.completion), storable(r.diff), storable(r.program), r.outcome.value, storable(r.reason),
            _finite_or_none(r.fitness), json.dumps(list(r.descriptors)) if r.descriptors is not None else None,
            r.niche, r.status.value if r.status is not None else None, int(r.entered), r.eval_seconds,
            json.dumps(storable(r.extras), default=lambda o: storable(str(o))) if r.extras else None, now,
            r.program_hash, r.duplicate_of,
        ) for r in records]
        first_id = records[0].id if records else self.count()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                f"INSERT INTO candidates({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
            self._db.execute(
                "INSERT INTO batches(batch, first_id, size, generate_seconds, evaluate_seconds, stats, finished) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (batch, first_id, len(records), generate_seconds, evaluate_seconds, json.dumps(storable(stats)), now))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"cannot commit batch {batch} to {self.path}: {exc}. Nothing of this batch was "
                             "written; free disk space or fix permissions, then `elm resume`.") from exc

    def last_stats(self) -> dict[str, Any] | None:
        """The last batch's statistics as stored (a learning run's are its learner's keys)."""
        row = self._db.execute("SELECT stats FROM batches ORDER BY batch DESC LIMIT 1").fetchone()
        return self._decode(row[0], "the stats of the last batch", dict) if row else None

    def _batch_stats(self, batch: int, first_id: int, size: int, text: Any) -> BatchStats:
        data = self._decode(text, f"the stats of batch {batch}", dict) if text else {}
        try:
            return BatchStats.from_json(data, evals=first_id + size)
        except (TypeError, ValueError, KeyError) as exc:
            raise StoreError(f"run store {self.path}: the stats of batch {batch} do not read ({exc}); {_EDITED}"
                             ) from None

    def last_batch_stats(self) -> BatchStats | None:
        """A search run's statistics after its last committed batch (None before the first)."""
        row = self._db.execute("SELECT batch, first_id, size, stats FROM batches ORDER BY batch DESC LIMIT 1"
                               ).fetchone()
        return self._batch_stats(*row) if row else None

    def stats_by_batch(self) -> Iterator[tuple[int, BatchStats]]:
        """Every committed batch of a search run with its statistics, in order."""
        for row in self._db.execute("SELECT batch, first_id, size, stats FROM batches ORDER BY batch"):
            yield row[0], self._batch_stats(*row)

    def outcomes_by_batch(self) -> dict[int, dict[str, int]]:
        """batch -> outcome -> how many candidates of the batch ended so."""
        out: dict[int, dict[str, int]] = {}
        for batch, outcome, n in self._db.execute(
                "SELECT batch, outcome, COUNT(*) FROM candidates GROUP BY batch, outcome"):
            out.setdefault(batch, {})[outcome] = n
        return out

    def outcomes_by_operator(self) -> dict[str, dict[str, int]]:
        """operator -> outcome -> count, and "entered": how many entered the archive."""
        out: dict[str, dict[str, int]] = {}
        for operator, outcome, n, entered in self._db.execute(
                "SELECT operator, outcome, COUNT(*), SUM(entered) FROM candidates GROUP BY operator, outcome"):
            row = out.setdefault(operator, {"entered": 0})
            row[outcome] = n
            row["entered"] += int(entered or 0)
        return out

    def current_elites(self) -> list[tuple[int, float, tuple[float, ...]]]:
        """(id, fitness, descriptors) of each niche's current elite: the last candidate that
        entered it. Checked: a fitness that is not a finite number is an edited store."""
        out = []
        for cid, fitness, descriptors in self._db.execute(
                f"SELECT id, fitness, descriptors FROM candidates WHERE id IN ({_ELITE_IDS})"):
            if fitness is None or not descriptors:
                continue
            if isinstance(fitness, bool) or not isinstance(fitness, (int, float)) or not math.isfinite(fitness):
                raise edited_store_error(self.path, f"the fitness of candidate {cid} is {str(fitness)[:40]!r}, "
                                                    "not a finite number")
            out.append((cid, float(fitness), self._descriptors(descriptors, cid)))
        return out

    def top_elites(self, n: int) -> list[CandidateRecord]:
        """The ``n`` fittest current elites, fittest first (ties: the earlier candidate)."""
        ids = self._db.execute(f"SELECT id FROM candidates WHERE id IN ({_ELITE_IDS}) "
                               "ORDER BY fitness DESC, id ASC LIMIT ?", (n,)).fetchall()
        return [r for r in (self.get(i) for (i,) in ids) if r is not None]

    def history(self, points: int = 5) -> list[dict[str, Any]]:
        """The stats after up to ``points`` batches spread over the run (the last included),
        each with ``evals``, the candidates committed by then."""
        total = self.next_batch()
        if total == 0:
            return []
        picks = sorted({round(total * k / points) - 1 for k in range(1, points + 1)} - {-1})
        rows = []
        for batch in picks:
            row = self._db.execute("SELECT first_id, size, stats FROM batches WHERE batch = ?", (batch,)).fetchone()
            if row is not None:
                stats = self._decode(row[2], f"the stats of batch {batch}", dict) if row[2] else {}
                rows.append({"batch": batch, "evals": row[0] + row[1], **stats})
        return rows

    # -- reading ------------------------------------------------------------------
    def valid_by_batch(self) -> Iterator[tuple[int, list[ValidCandidate]]]:
        """Valid candidates grouped by batch, in commit order: what rebuilds an archive."""
        current: int | None = None
        group: list[ValidCandidate] = []
        cursor = self._db.execute(
            "SELECT batch, id, program, fitness, descriptors, niche, entered FROM candidates "
            "WHERE outcome = 'valid' ORDER BY id")
        for batch, cid, program, fitness, descriptors, niche, entered in cursor:
            if current is not None and batch != current:
                yield current, group
                group = []
            current = batch
            if not _is_finite(fitness):
                raise StoreError(f"run store {self.path}: candidate {cid} is valid but its fitness is "
                                 f"{str(fitness)[:40]!r}, not a finite number; {_EDITED}")
            group.append(ValidCandidate(cid, program, fitness, self._descriptors(descriptors, cid), niche,
                                        bool(entered)))
        if current is not None:
            yield current, group

    def get(self, candidate_id: int) -> CandidateRecord | None:
        cursor = self._db.execute(f"SELECT {self._columns()} FROM candidates WHERE id = ?", (candidate_id,))
        row = cursor.fetchone()
        return self._record(row) if row else None

    def elite_ids(self) -> dict[int, int]:
        """niche -> id of the candidate that entered it last (the current elite)."""
        rows = self._db.execute(
            "SELECT niche, MAX(id) FROM candidates WHERE entered = 1 GROUP BY niche").fetchall()
        return {niche: cid for niche, cid in rows}

    def best(self) -> CandidateRecord | None:
        row = self._db.execute(
            f"SELECT {self._columns()} FROM candidates WHERE outcome = 'valid' "
            "ORDER BY fitness DESC, id ASC LIMIT 1").fetchone()
        return self._record(row) if row else None

    def best_with_condition(self, condition: str) -> CandidateRecord | None:
        """The fittest valid candidate evaluated under ``condition`` (a learning run's samples
        carry it in ``extras.condition``)."""
        row = self._db.execute(
            f"SELECT {self._columns()} FROM candidates WHERE outcome = 'valid' "
            "AND json_valid(extras) AND json_extract(extras, '$.condition') = ? ORDER BY fitness DESC, id ASC LIMIT 1",
            (condition,)).fetchone()
        return self._record(row) if row else None

    def best_per_condition(self) -> dict[str, CandidateRecord]:
        conditions = [r[0] for r in self._db.execute(
            "SELECT DISTINCT json_extract(extras, '$.condition') FROM candidates WHERE outcome = 'valid' "
            "AND json_valid(extras) AND json_extract(extras, '$.condition') IS NOT NULL")]
        found = {c: self.best_with_condition(c) for c in conditions if isinstance(c, str)}
        return {c: r for c, r in found.items() if r is not None}

    def elite_in_niche(self, niche: int) -> CandidateRecord | None:
        row = self._db.execute(
            f"SELECT {self._columns()} FROM candidates WHERE entered = 1 AND niche = ? "
            "ORDER BY id DESC LIMIT 1", (niche,)).fetchone()
        return self._record(row) if row else None

    def operators_by_batch(self) -> Iterator[tuple[int, list[tuple[str, bool, str | None]]]]:
        """(batch, [(operator, entered the archive, insert status) per candidate]) for every
        committed batch, in order; duplicates are left out (they cost no evaluation)."""
        rows = self._db.execute("SELECT batch, operator, entered, status FROM candidates "
                                "WHERE outcome != 'duplicate' ORDER BY id")
        current: int | None = None
        group: list[tuple[str, bool, str | None]] = []
        for batch, operator, entered, status in rows:
            if batch != current and current is not None:
                yield current, group
                group = []
            current = batch
            group.append((operator, bool(entered), status))
        if current is not None:
            yield current, group

    def operator_counts(self) -> dict[str, dict[str, int]]:
        """Per operator: candidates that cost an evaluation, valid ones, those that entered the
        archive, and duplicates (proposals not evaluated)."""
        rows = self._db.execute("SELECT operator, SUM(outcome != 'duplicate'), SUM(outcome = 'valid'), SUM(entered), "
                                "SUM(outcome = 'duplicate') FROM candidates GROUP BY operator ORDER BY operator")
        return {op: {"children": int(n or 0), "valid": int(v or 0), "entered": int(e or 0), "duplicates": int(d or 0)}
                for op, n, v, e, d in rows}

    def outcome_counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT outcome, COUNT(*) FROM candidates GROUP BY outcome").fetchall())

    def iter_candidates(self, where: str = "", params: Sequence[Any] = ()) -> Iterator[CandidateRecord]:
        sql = f"SELECT {self._columns()} FROM candidates"
        if where:
            sql += f" WHERE {where}"
        for row in self._db.execute(sql + " ORDER BY id", params):
            yield self._record(row)

    def children_with_parents(self, where: str = "", params: Sequence[Any] = ()) -> Iterator[
            tuple[CandidateRecord, str]]:
        """Children that have a parent with a program, each with that parent's program, in id
        order: what a dataset of edits is made of. ``where`` filters the child (alias ``c``)."""
        columns = self._columns("c")
        sql = (f"SELECT {columns}, p.program FROM candidates c JOIN candidates p ON p.id = c.parent_id "
               "WHERE p.program IS NOT NULL")
        if where:
            sql += f" AND ({where})"
        for row in self._db.execute(sql + " ORDER BY c.id", params):
            yield self._record(row[:-1]), row[-1]

    def _record(self, row: Sequence[Any]) -> CandidateRecord:
        data = dict(zip(_COLUMNS, row))
        data.pop("created")
        data["entered"] = bool(data["entered"])
        if data["descriptors"] is not None:
            data["descriptors"] = self._descriptors(data["descriptors"], data["id"])
        if data["extras"] is not None:
            data["extras"] = self._decode(data["extras"], f"the extras of candidate {data['id']}", dict)
        try:
            return CandidateRecord(**data)
        except ValueError as exc:  # an outcome or status no run writes
            raise StoreError(f"run store {self.path}: {exc}; {_EDITED}") from None
