"""Which input sets a models folder was already retrained on, so one change trains once.

``models/trained-inputs.json`` maps an *inputs key* (the content ids of every input file plus
the settings' hashes) to what that training made. The retrain flow skips a key it finds here:
two triggers for one change (a poll that fires again before the first retrain finished, the
nightly cron after an event-driven run) train once. Read and written under the models folder's
lock, atomically.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from .atomic import write_text_atomic
from .layout import ModelsLayout
from .locking import folder_lock
from .manifest import InputFile

LOG_NAME = "trained-inputs.json"


def inputs_key(files: list[InputFile], *settings_hashes: str) -> str:
    """SHA-256 of the sorted (name, content id) pairs and the settings' hashes."""
    blob = json.dumps({"files": sorted((f.name, f.file_id or f"unreadable: {f.error}") for f in files),
                       "settings": list(settings_hashes)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class TrainingLog:
    def __init__(self, models: ModelsLayout):
        self.models = models
        self.path = models.root / LOG_NAME

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:  # a damaged log only costs a retrain
            return {}

    def entry(self, key: str) -> dict | None:
        """What the training on ``key`` recorded, or None when these inputs were never trained on."""
        with folder_lock(self.models.lock):
            return self._read().get(key)

    def record(self, key: str, **entry) -> None:
        with folder_lock(self.models.lock):
            log = self._read()
            log[key] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **entry}
            write_text_atomic(self.path, json.dumps(log, indent=2, sort_keys=True))
