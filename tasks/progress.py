"""Terminal progress for long flows: files done, audio seconds, ETA (rich; plain when piped)."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Off a terminal (a log file, a pipe, CI) rich would cut tables at 80 columns: lines are then as
# wide as their content (COLUMNS, when set, still wins).
console = Console(stderr=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 1000)


def note(text: str) -> None:
    """A line for the person at the terminal (a flow run's log has it too, through its logger)."""
    console.print(text, highlight=False)


class _Bar:
    """A rich Progress used as a context manager (subclasses set ``_progress``)."""

    _progress: Progress

    def __enter__(self):
        self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self._progress.__exit__(*exc)


class FileProgress(_Bar):
    """A progress bar over files weighted by audio seconds; silent when disabled."""

    def __init__(self, label: str, total_seconds: float, n_files: int, enabled: bool = True):
        self.enabled = enabled and n_files > 0
        self.files_done = 0
        self.n_files = n_files
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[files]}"), TextColumn("{task.completed:.0f}/{task.total:.0f} s audio"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, disable=not self.enabled, transient=False,
            refresh_per_second=4 if sys.stderr.isatty() else 0.2,
        )
        self._task = self._progress.add_task(label, total=max(total_seconds, 1e-9),
                                             files=f"0/{n_files} files")

    def advance(self, seconds: float) -> None:
        self.files_done += 1
        self._progress.update(self._task, advance=seconds,
                              files=f"{self.files_done}/{self.n_files} files")


class EpochProgress(_Bar):
    """A progress bar over training epochs showing the latest losses; silent when disabled."""

    def __init__(self, epochs: int, enabled: bool = True):
        self._progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"), TimeElapsedColumn(),
            console=console, disable=not enabled,
        )
        self._task = self._progress.add_task("train", total=epochs, losses="")

    def update(self, row: dict) -> None:
        self._progress.update(self._task, advance=1,
                              losses=f"train {row['train_loss']:.3f}  val {row['val_loss']:.3f}")

    def finish(self, reason: str) -> None:
        """End the bar with why training ended (a bar left short of its total says why)."""
        losses = self._progress.tasks[0].fields["losses"]
        self._progress.update(self._task, losses=f"{losses}  ({reason})")
