"""Checkpoints: round trip, exact resume, and clear errors for damaged or mismatched files."""
import json
import zipfile

import numpy as np
import pytest

import nnc
from nnc.layers import BatchNormalization, Dense, Dropout
from nnc.models.saving import CheckpointError


@pytest.fixture
def data(rng):
    x = rng.standard_normal((48, 6))
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)


def make(seed=3, dtype="float32"):
    m = nnc.Sequential([Dense(12, input_shape=(6,), kernel_regularizer=nnc.regularizers.L2(1e-3)),
                        BatchNormalization(momentum=0.9), Dropout(0.3), Dense(3)], seed=seed, dtype=dtype)
    m.compile(optimizer=nnc.optim.Adam(0.01, global_clipnorm=5.0), loss="softmax_cross_entropy",
              metrics=["accuracy"])
    return m


def weights(m):
    return [a.copy() for lyr in m.layers for a in (*lyr.params.values(), *lyr.buffers.values())]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_resume_is_bit_for_bit(data, tmp_path, dtype):
    N = 2
    whole = make(dtype=dtype)
    whole.fit(*data, epochs=2 * N, batch_size=8, verbose=0)

    first = make(dtype=dtype)
    first.fit(*data, epochs=N, batch_size=8, verbose=0)
    path = tmp_path / "half.npz"
    first.save(path)
    second = nnc.load_model(path)
    assert second.epoch == N and second.optimizer.iterations == first.optimizer.iterations
    second.fit(*data, epochs=2 * N, batch_size=8, verbose=0, initial_epoch=second.epoch)

    for a, b in zip(weights(whole), weights(second)):
        np.testing.assert_array_equal(a, b)
    # the generator (shuffling, dropout) is where the uninterrupted run left it
    assert whole.rng.bit_generator.state == second.rng.bit_generator.state


def test_resume_replays_a_seeded_dropout(data, tmp_path):
    """Dropout(seed=...) draws from a generator of its own: the checkpoint keeps its state too."""
    def seeded():
        m = nnc.Sequential([Dense(12, input_shape=(6,)), Dropout(0.5, seed=7), Dense(3)], seed=1)
        m.compile(optimizer=nnc.optim.SGD(0.1), loss="softmax_cross_entropy")
        return m
    whole = seeded()
    whole.fit(*data, epochs=4, batch_size=8, verbose=0)
    first = seeded()
    first.fit(*data, epochs=2, batch_size=8, verbose=0)
    first.save(tmp_path / "half.npz")
    for second in (nnc.load_model(tmp_path / "half.npz"), seeded()):
        if second.optimizer.iterations == 0:   # the in-place load into a fresh model
            second.load(tmp_path / "half.npz")
        second.fit(*data, epochs=4, batch_size=8, verbose=0, initial_epoch=2)
        for a, b in zip(weights(whole), weights(second)):
            np.testing.assert_array_equal(a, b)
        assert second.layers[1].rng.bit_generator.state == whole.layers[1].rng.bit_generator.state


def test_round_trip_restores_everything(data, tmp_path):
    m = make()
    m.fit(*data, epochs=1, batch_size=8, verbose=0)
    m.save(tmp_path / "m.npz")
    r = nnc.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(r.predict(data[0]), m.predict(data[0]))
    assert [type(lyr) for lyr in r.layers] == [type(lyr) for lyr in m.layers]
    assert isinstance(r.layers[0].kernel_regularizer, nnc.regularizers.L2)
    assert r.optimizer.get_config() == m.optimizer.get_config()
    for key, slots in m.optimizer.state.items():
        for name, a in slots.items():
            np.testing.assert_array_equal(r.optimizer.state[key][name], a)
    assert r.evaluate(*data) == m.evaluate(*data)


def test_file_holds_no_pickles(data, tmp_path):
    m = make()
    m.build()
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
        cfg = json.loads(str(f["__config__"]))
    assert cfg["format"] == "nnc-checkpoint" and cfg["model"]["seed"] == 3
    assert [d["class_name"] for d in cfg["layers"]] == ["Dense", "BatchNormalization", "Dropout", "Dense"]


def saved(tmp_path, data):
    m = make()
    m.fit(*data, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "ok.npz"
    m.save(path)
    return path


def assert_load_fails_and_changes_nothing(path, match):
    with pytest.raises(CheckpointError, match=match):
        nnc.load_model(path)
    target = make(seed=99)
    target.build()
    before, state = weights(target), target.rng.bit_generator.state
    with pytest.raises(CheckpointError, match=match):
        target.load(path)
    for a, b in zip(before, weights(target)):
        np.testing.assert_array_equal(a, b)
    assert target.rng.bit_generator.state == state and target.epoch == 0


def test_truncated_file(data, tmp_path):
    raw = saved(tmp_path, data).read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(raw[: len(raw) * 2 // 3])
    assert_load_fails_and_changes_nothing(bad, "truncated or corrupted")


def test_corrupted_bytes(data, tmp_path):
    raw = bytearray(saved(tmp_path, data).read_bytes())
    with zipfile.ZipFile(tmp_path / "ok.npz") as z:
        info = z.getinfo("param/0.dense.W.npy")
    start = info.header_offset + 30 + len(info.filename) + 200   # inside the array data
    raw[start:start + 8] = b"\xff" * 8
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(bytes(raw))
    assert_load_fails_and_changes_nothing(bad, "truncated or corrupted")


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"hello, world" * 10)
    assert_load_fails_and_changes_nothing(junk, "truncated or corrupted")
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    assert_load_fails_and_changes_nothing(other, "__config__")


def test_mismatched_architecture(data, tmp_path):
    wide = nnc.Sequential([Dense(13, input_shape=(6,), kernel_regularizer=nnc.regularizers.L2(1e-3)),
                           BatchNormalization(momentum=0.9), Dropout(0.3), Dense(3)], seed=0)
    wide.compile(optimizer="adam", loss="softmax_cross_entropy")
    wide.build()
    path = tmp_path / "wide.npz"
    wide.save(path)
    target = make()
    target.build()
    before = weights(target)
    with pytest.raises(CheckpointError, match="param/0.dense.W"):
        target.load(path)
    for a, b in zip(before, weights(target)):
        np.testing.assert_array_equal(a, b)
    shallow = nnc.Sequential([Dense(3, input_shape=(6,))])
    shallow.build()
    with pytest.raises(CheckpointError, match="layers"):
        shallow.load(path)


def test_in_place_load_restores_state(data, tmp_path):
    m = make()
    m.fit(*data, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "m.npz"
    m.save(path)
    other = make(seed=7)
    other.build()
    other.load(path)
    for a, b in zip(weights(m), weights(other)):
        np.testing.assert_array_equal(a, b)
    assert other.epoch == 2 and other.rng.bit_generator.state == m.rng.bit_generator.state


def test_save_unbuilt_model_raises(tmp_path):
    with pytest.raises(RuntimeError, match="not built"):
        nnc.Sequential([Dense(2)]).save(tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError):
        nnc.load_model(tmp_path / "missing.npz")
