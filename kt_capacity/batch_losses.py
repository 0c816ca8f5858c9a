"""BatchLosses: each batch's own loss, recovered from Keras's running means."""

from __future__ import annotations

import keras


class BatchLosses(keras.callbacks.Callback):
    """Per-batch losses of the latest epoch (for the batch-loss volatility sign).

    Keras reports in `on_train_batch_end` the running mean of the epoch's loss,
    weighted by batch size, so each batch's own loss is recovered from two
    consecutive means: `(S_k m_k - S_{k-1} m_{k-1}) / n_k` with `S_k` the samples
    seen after batch k. Without `num_samples` and `batch_size` (a tf.data input),
    batches are taken as equal in size, which is exact but for a last partial one.

    Args:
        num_samples: training examples per epoch, when known.
        batch_size: batch size, when known.
    """

    def __init__(self, num_samples: int | None = None, batch_size: int | None = None):
        super().__init__()
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.losses: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.losses = []
        self._seen = 0
        self._mean = 0.0

    def on_train_batch_end(self, batch, logs=None):
        if not logs or "loss" not in logs:
            return
        mean = float(logs["loss"])
        if self.num_samples and self.batch_size:
            n = min(self.batch_size, self.num_samples - self._seen) or self.batch_size
        else:
            n = 1
        seen = self._seen + n
        self.losses.append((seen * mean - self._seen * self._mean) / n)
        self._seen, self._mean = seen, mean
