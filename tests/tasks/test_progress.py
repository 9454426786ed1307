"""The training progress bar says why it ended short of its total."""

from __future__ import annotations

from tasks.progress import EpochProgress


def test_epoch_bar_ends_with_the_stop_reason():
    with EpochProgress(60, enabled=False) as bar:
        for epoch in (1, 2, 3):
            bar.update({"epoch": epoch, "train_loss": 1.0 / epoch, "val_loss": 2.0})
        bar.finish("stopped early at epoch 3: no head improved for 5 epochs")
    task = bar._progress.tasks[0]
    assert task.completed == 3 and task.total == 60
    assert task.fields["losses"] == "train 0.333  val 2.000  (stopped early at epoch 3: no head improved for 5 epochs)"
