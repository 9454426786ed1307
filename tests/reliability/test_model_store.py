"""The model store heals, its publishing is atomic and checked, and races leave it consistent."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cli.main import main
from storage.artifacts import ArtifactIntegrityError, ArtifactStore, sha256_file
from storage.layout import ModelsLayout
from storage.models import (
    AdapterMismatchError,
    gc,
    list_versions,
    load_adapter,
    load_published,
    model_store,
    promote,
    publish_adapter,
    read_metadata,
    verify_models,
    verify_published,
)

from .conftest import one_line, store_adapter, temp_files


def flip_exponent_bit(adapter: Path) -> None:
    """Set the top exponent bit of the first weight of the first layer (0.007 -> ~1e36)."""
    payload = torch.load(adapter, weights_only=True)
    name = next(k for k, v in payload["state_dict"].items() if v.dim() == 2)
    raw = payload["state_dict"][name].contiguous().numpy().tobytes()[:64]
    data = bytearray(adapter.read_bytes())
    at = data.index(raw)
    data[at + 3] ^= 0x40  # little-endian float32: byte 3 holds the sign and the top exponent bits
    adapter.write_bytes(bytes(data))


def test_publish_records_the_adapter_hash(published):
    models, refs = published
    meta = read_metadata(models)
    assert meta["adapter_sha256"] == sha256_file(models.adapter) == refs[1][7:]
    assert meta["artifact"] == refs[1] and meta["data_hash"] == "d" * 16
    model, info = load_published(models)
    assert info["history"][0]["val_loss"] == pytest.approx(0.52)


def test_flipped_bit_in_adapter_is_refused_in_one_line(published, capsys, monkeypatch, tmp_path):
    models, refs = published
    flip_exponent_bit(models.adapter)
    with pytest.raises(AdapterMismatchError) as err:
        load_published(models.adapter)
    message = one_line(str(err.value))
    assert "does not match metadata.json" in message and f"aural models promote sha256:{refs[1][7:19]}" in message
    # Without its metadata the weights themselves give it away.
    with pytest.raises(ArtifactIntegrityError, match="corrupt weights"):
        load_adapter(models.adapter)

    # `aural eval` refuses it before any server starts or file is analysed.
    import runtime.local_server

    def no_server(self):
        raise AssertionError("a server was started")

    monkeypatch.setattr(runtime.local_server.LocalServer, "start", no_server)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    (tmp_path / "eval").mkdir()
    code = main(["eval", "--in", str(tmp_path / "eval"), "--adapter", str(models.adapter),
                 "--report", str(tmp_path / "r" / "eval.json"), "--cache", str(tmp_path / "c"), "--quiet"])
    assert code == 2
    assert "does not match metadata.json" in one_line(capsys.readouterr().err)

    # `aural models verify` lists it; promote re-publishes the recorded version (nothing good lost).
    assert main(["models", "verify", "--models", str(models.root)]) == 2
    err = capsys.readouterr().err
    assert "does not match metadata.json" in err and all(line.startswith("aural models verify: ")
                                                         for line in err.splitlines())
    assert main(["models", "promote", refs[1][7:19], "--models", str(models.root)]) == 0
    assert verify_published(models) == refs[1][7:]
    assert main(["models", "verify", "--models", str(models.root)]) == 0


def test_corrupt_store_object_is_reported_then_healed_by_put(published, capsys):
    models, refs = published
    store = model_store(models)
    obj = store.get(refs[0])
    good = obj.read_bytes()
    obj.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    with pytest.raises(ArtifactIntegrityError, match="corrupt"):
        store.get(refs[0])
    assert main(["models", "verify", "--models", str(models.root)]) == 2
    assert f"{refs[0][7:]}: corrupt" in one_line(capsys.readouterr().err)
    # A retrain of the same data stores the same bytes again: the object is rewritten.
    staging = models.store / ".staging-retrain.pt"
    staging.write_bytes(good)
    assert store.put(staging) == refs[0]
    assert store.get(refs[0]).read_bytes() == good
    assert verify_models(models) == []


def test_list_promote_and_gc(published, capsys):
    models, refs = published
    assert [r["published"] for r in list_versions(models) if r["ref"] == refs[1]] == [True]
    assert main(["models", "list", "--models", str(models.root)]) == 0
    out = capsys.readouterr().out
    assert f"* {refs[1][:19]}" in out and f"  {refs[0][:19]}" in out and "0.5100" in out
    assert promote(models, refs[0][7:15]) == refs[0]  # rollback
    assert verify_published(models) == refs[0][7:] and read_metadata(models)["artifact"] == refs[0]
    third = store_adapter(models, 3)
    assert gc(models, keep=1) == [refs[1]]  # the published one stays; the newest unpublished too
    assert sorted(model_store(models).refs()) == sorted([refs[0], third])
    assert main(["models", "gc", "--keep", "0", "--models", str(models.root)]) == 0
    assert model_store(models).refs() == [refs[0]]
    load_published(models)
    with pytest.raises(ArtifactIntegrityError, match="no artifact"):
        promote(models, "abcdef")


@pytest.mark.parametrize("fail", ["write", "rename"])
def test_disk_full_leaves_no_partial_files_and_the_published_pair(published, monkeypatch, capsys, fail):
    models, refs = published
    before = {p: p.read_bytes() for p in (models.adapter, models.metadata)}
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if fail == "write":  # the data is written, flushing it finds the disk full
        def fsync(fd):
            raise full
        monkeypatch.setattr(os, "fsync", fsync)
    else:
        real = os.replace

        def replace(src, dst, *args, **kwargs):
            if Path(dst).name in ("adapter.pt", "metadata.json") or len(Path(dst).name) == 64:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
            return real(src, dst, *args, **kwargs)
        monkeypatch.setattr(os, "replace", replace)
    new = models.store / ".staging-new.pt"
    new.write_bytes(b"new weights" * 100)
    with pytest.raises(OSError):
        model_store(models).put(new)
    new.unlink()
    with pytest.raises(OSError):
        publish_adapter(models, refs[0], {})
    assert main(["models", "promote", refs[0], "--models", str(models.root)]) == 2
    assert "No space left on device" in one_line(capsys.readouterr().err)
    assert temp_files(models.root) == []
    assert {p: p.read_bytes() for p in before} == before
    monkeypatch.undo()
    assert verify_models(models) == [] and verify_published(models) == refs[1][7:]


CRASHING_PUBLISH = """
import os, sys
from pathlib import Path
from storage.layout import ModelsLayout
from storage.models import publish_adapter
models, ref, crash_at = ModelsLayout(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3])
steps = 0

def crashing(real):  # the process dies (no cleanup runs) at step number crash_at
    def call(*args, **kwargs):
        global steps
        if steps == crash_at:
            os._exit(9)
        steps += 1
        return real(*args, **kwargs)
    return call

os.fsync, os.replace = crashing(os.fsync), crashing(os.replace)
publish_adapter(models, ref, {"writer": "crashing"})
print(steps)
"""


def test_crash_at_each_step_of_publishing_never_mixes_the_pair(published, tmp_path):
    """A publish killed at each of its disk steps (every fsync and rename, in turn) leaves a
    pair that loads as the old or the new version, never a mix; the load finishes an
    interrupted publish on disk, and the next publish removes the temporary files."""
    import shutil

    models, refs = published
    old, new = refs[1][7:], refs[0][7:]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    seen = []
    for crash_at in range(20):
        folder = ModelsLayout(Path(shutil.copytree(models.root, tmp_path / f"crash-{crash_at}")))
        run = subprocess.run([sys.executable, "-c", CRASHING_PUBLISH, str(folder.root), refs[0], str(crash_at)],
                             env=env, capture_output=True, text=True, timeout=120)
        if run.returncode == 0:  # no step left to crash at: the publish completed
            assert int(run.stdout) == crash_at >= 4, "fewer steps than two writes and two renames"
            break
        assert run.returncode == 9, run.stderr
        on_disk = sha256_file(folder.adapter), read_metadata(folder)["adapter_sha256"]
        loaded = verify_published(folder)  # old or new; finishes an interrupted publish
        assert loaded in (old, new) and sha256_file(folder.adapter) == read_metadata(folder)["adapter_sha256"]
        assert load_published(folder)[1]["data_hash"] == "d" * 16
        seen.append("old" if loaded == old else "finished" if on_disk[0] != on_disk[1] else "new")
        assert verify_models(folder) == []
        promote(folder, old)  # the next publish removes what the killed one left
        assert temp_files(folder.root) == [] and verify_published(folder) == old
    else:
        raise AssertionError("the publish never completed")
    # the crash window between the two renames exists, and is the one a load finishes
    assert seen[0] == "old" and "finished" in seen, seen


def test_interrupted_publish_that_cannot_be_finished_is_one_line(published):
    """New metadata beside the adapter it replaces, but its version gone from the store."""
    models, refs = published
    meta = read_metadata(models)
    meta.update(adapter_sha256=refs[0][7:], artifact=refs[0], replaces_sha256=refs[1][7:])
    model_store(models).delete(refs[0])
    models.metadata.write_text(json.dumps(meta))
    with pytest.raises(AdapterMismatchError) as err:
        load_published(models)
    assert "was interrupted and that version is not in" in one_line(str(err.value))
    assert any("was interrupted" in p for p in verify_models(models))


RACER = """
import sys, uuid
from pathlib import Path
from storage.layout import ModelsLayout
from storage.models import model_store, publish_adapter
models = ModelsLayout(Path(sys.argv[1]))
store = model_store(models)
for i in range(int(sys.argv[3])):  # stage -> put -> publish, as train_task and the train flow do
    staging = models.store / f".staging-{uuid.uuid4().hex}.pt"
    staging.write_bytes(f"weights {i % 5}".encode() * 200000)  # few contents: the racers collide
    try:
        ref = store.put(staging, name="adapter", meta={"data_hash": str(i % 5)})
    finally:
        staging.unlink()
    publish_adapter(models, ref, {"writer": sys.argv[2], "i": i})
"""

READER = """
import sys
from pathlib import Path
from storage.layout import ModelsLayout
from storage.models import AdapterMismatchError, verify_published
models, stop = ModelsLayout(Path(sys.argv[1])), Path(sys.argv[2])
checks = mismatches = 0
while not stop.exists():
    if models.metadata.is_file():
        checks += 1
        try:
            verify_published(models)
        except AdapterMismatchError:
            mismatches += 1
print(checks, mismatches)
"""


def test_two_processes_racing_stage_put_publish(tmp_path):
    models = ModelsLayout(tmp_path / "models")
    models.store.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(models.root), str(stop)], env=env,
                              stdout=subprocess.PIPE, text=True)
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(models.root), name, "50"], env=env,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read()
    stop.touch()
    checks, mismatches = map(int, reader.communicate(timeout=60)[0].split())
    assert mismatches == 0 and checks > 0  # a reader never sees a half-published pair
    store = ArtifactStore(models.store)
    assert len(store.refs()) == 5
    assert store.verify() == []  # every object's content matches its name
    meta = json.loads(models.metadata.read_text())
    assert sha256_file(models.adapter) == meta["adapter_sha256"] == meta["artifact"][7:]
    assert temp_files(models.root) == []
