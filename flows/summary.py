"""Run summaries: which files were computed, taken from cache, or failed, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class FileOutcome:
    source: str
    status: str                 # computed | cached | failed
    file_id: str | None = None
    result: dict | None = None
    error: str | None = None

    @classmethod
    def from_state(cls, source: str, state, file_id: str | None = None) -> "FileOutcome":
        """Classify a finished Prefect task state ("Cached" is Prefect's cache-hit state)."""
        if state.is_completed():
            status = "cached" if state.name == "Cached" else "computed"
            return cls(source, status, file_id, result=state.result())
        exc = state.result(raise_on_failure=False)
        message = str(exc) if isinstance(exc, BaseException) else (state.message or state.name)
        return cls(source, "failed", file_id, error=message)


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

    def one_line(self) -> str:
        return (f"{self.stage}: {len(self.computed)} computed, {len(self.cached)} cached, "
                f"{len(self.failed)} failed")

    def markdown(self) -> str:
        rows = [f"# {self.stage}\n", self.one_line() + "\n", "| file | status | detail |",
                "|---|---|---|"]
        for o in sorted(self.outcomes, key=lambda o: o.source):
            detail = o.error or (f"{o.result.get('n_frames', '')} frames" if o.result else "")
            rows.append(f"| {o.source} | {o.status} | {str(detail).replace('|', '/')} |")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"stage": self.stage, "computed": [o.source for o in self.computed],
                "cached": [o.source for o in self.cached],
                "failed": [{"source": o.source, "error": o.error} for o in self.failed],
                "files": [asdict(o) for o in self.outcomes]}
