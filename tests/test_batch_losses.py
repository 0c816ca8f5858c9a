"""BatchLosses recovers each batch's loss from Keras's running epoch means."""

import numpy as np
import pytest

from kt_capacity.batch_losses import BatchLosses


def feed(callback, losses, sizes):
    callback.on_epoch_begin(0)
    seen = total = 0.0
    for i, (loss, n) in enumerate(zip(losses, sizes, strict=True)):
        seen, total = seen + n, total + n * loss
        callback.on_train_batch_end(i, {"loss": total / seen})
    return callback.losses


def test_batch_losses_recovers_each_batch_with_a_partial_last_batch():
    losses = [2.0, 1.0, 3.0, 0.5]  # batches of 4, 4, 4 and a last one of 2
    got = feed(BatchLosses(num_samples=14, batch_size=4), losses, [4, 4, 4, 2])
    np.testing.assert_allclose(got, losses, rtol=1e-12)


@pytest.mark.parametrize("sizes", [[8, 8, 8], [1, 1, 1]])
def test_batch_losses_equal_batches_need_no_sizes(sizes):
    np.testing.assert_allclose(
        feed(BatchLosses(), [0.5, 2.5, 1.0], sizes), [0.5, 2.5, 1.0], rtol=1e-12
    )


def test_batch_losses_resets_each_epoch():
    callback = BatchLosses()
    feed(callback, [1.0, 2.0], [4, 4])
    assert feed(callback, [3.0], [4]) == [3.0]
