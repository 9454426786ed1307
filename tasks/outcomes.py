"""Outcomes of per-file task runs: which files were computed, taken from cache, or failed, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from storage.manifest import display_name
from storage.report_pages import markdown_escape, printable

from .results import _Record


@dataclass
class FileOutcome:
    source: str
    status: str                 # computed | cached | failed
    file_id: str | None = None
    result: _Record | None = None   # the task's record (tasks.results)
    error: str | None = None
    note: str | None = None     # e.g. a cache entry that failed verification and was recomputed

    @classmethod
    def from_state(cls, source: str, state, file_id: str | None = None, note: str | None = None, *,
                   record: type[_Record]) -> FileOutcome:
        """Classify a finished Prefect task state ("Cached" is Prefect's cache-hit state); a
        completed task's result is read as ``record``."""
        if state.is_completed():
            status = "cached" if state.name == "Cached" else "computed"
            return cls(source, status, file_id, result=record.of(state.result()), note=note)
        exc = state.result(raise_on_failure=False)
        message = str(exc) if isinstance(exc, BaseException) else (state.message or state.name)
        return cls(source, "failed", file_id, error=display_name(message), note=note)

    @property
    def seconds(self) -> float:
        """Compute time spent on this file in this run (0 when it came from the cache)."""
        if self.status != "computed" or not self.result:
            return 0.0
        return float(getattr(self.result, "compute_seconds", 0.0))


@dataclass
class RunSummary:
    stage: str
    outcomes: list[FileOutcome] = field(default_factory=list)

    def add(self, outcome: FileOutcome) -> None:
        """Keep outcomes sorted by file name: tasks finish in any order, summaries must not."""
        self.outcomes.append(outcome)
        self.outcomes.sort(key=lambda o: o.source)

    def _with(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def computed(self) -> list[FileOutcome]:
        return self._with("computed")

    @property
    def cached(self) -> list[FileOutcome]:
        return self._with("cached")

    @property
    def failed(self) -> list[FileOutcome]:
        return self._with("failed")

    @property
    def repaired(self) -> list[FileOutcome]:
        """Files whose cache entry failed verification and was recomputed."""
        return [o for o in self.outcomes if o.note]

    def one_line(self) -> str:
        repaired = f" ({len(self.repaired)} failed verification: recomputed)" if self.repaired else ""
        return (f"{self.stage}: {len(self.computed)} computed{repaired}, {len(self.cached)} cached, "
                f"{len(self.failed)} failed")

    def rows(self) -> list[dict]:
        """One row per file for a table artifact: file, status, reason, seconds."""
        return [{"file": printable(o.source), "status": o.status, "reason": printable(o.error or o.note or ""),
                 "seconds": round(o.seconds, 2)} for o in self.outcomes]

    def markdown(self) -> str:
        rows = [f"# {self.stage}\n", self.one_line() + "\n", "| file | status | detail |",
                "|---|---|---|"]
        for o in self.outcomes:
            detail = o.error or o.note or (f"{o.result.n_frames} frames" if hasattr(o.result, "n_frames") else "")
            rows.append(f"| {markdown_escape(o.source)} | {o.status} | {markdown_escape(str(detail))} |")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"stage": self.stage, "computed": [o.source for o in self.computed],
                "cached": [o.source for o in self.cached],
                "failed": [{"source": o.source, "error": o.error} for o in self.failed],
                "repaired": [{"source": o.source, "note": o.note} for o in self.repaired],
                "files": [asdict(o) for o in self.outcomes]}

    def publish(self, key: str, description: str) -> None:
        """A markdown summary and a per-file table (file, status, reason, seconds) in the UI."""
        description = printable(description)  # a folder's name need not be UTF-8
        create_markdown_artifact(key=key, markdown=self.markdown(), description=description)
        create_table_artifact(key=f"{key}-files", table=self.rows(), description=f"{description}: per file")
