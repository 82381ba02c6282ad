"""Checkpoints under attack: every damaged, edited or hostile file is refused with CheckpointError before
anything changes (and before its data is decompressed); saving is all-or-nothing and leaves no litter."""
import io
import json
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnc
from nnc.layers import BatchNormalization, Dense
from nnc.models.saving import CheckpointError


def make(seed=3, optimizer="adam"):
    m = nnc.Sequential([Dense(12, input_shape=(6,)), BatchNormalization(), Dense(3)], seed=seed)
    m.compile(optimizer=optimizer, loss="softmax_cross_entropy", metrics=["accuracy"])
    return m


@pytest.fixture
def good(tmp_path, rng):
    x = rng.standard_normal((32, 6))
    m = make()
    m.fit(x, (x[:, 0] > 0).astype(np.int64), epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "good.npz"
    m.save(path)
    return path


def snapshot(m):
    arrays = [a.copy() for lyr in m.layers for a in (*lyr.params.values(), *lyr.buffers.values())]
    opt = m.optimizer
    return (arrays, m.rng.bit_generator.state, m.epoch, opt.iterations, opt.lr,
            {k: {s: a.copy() for s, a in v.items()} for k, v in opt.state.items()})


def assert_same(a, b):
    for x, y in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, y)
    assert a[1:5] == b[1:5]
    assert a[5].keys() == b[5].keys()
    for k in a[5]:
        assert a[5][k].keys() == b[5][k].keys()


def assert_refused(path, match):
    """load_model and Model.load both raise CheckpointError(match), and nothing changes: not the target
    model, not numpy's global random state."""
    global_state = np.random.get_state()
    with pytest.raises(CheckpointError, match=match) as info:
        nnc.load_model(path)
    assert "allow_pickle" not in str(info.value)
    target = make(seed=99)
    target.build()
    before = snapshot(target)
    with pytest.raises(CheckpointError, match=match):
        target.load(path)
    assert_same(before, snapshot(target))
    unbuilt = make(seed=99)
    with pytest.raises(CheckpointError):
        unbuilt.load(path)
    assert not unbuilt.built and not any(lyr.params for lyr in unbuilt.layers)
    after = np.random.get_state()
    assert after[0] == global_state[0] and np.array_equal(after[1], global_state[1]) and after[2:] == global_state[2:]


def members(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=True)
    return buf.getvalue()


def npy_header_only(shape, descr):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def array(entries, name):
    return np.lib.format.read_array(io.BytesIO(entries[name]))


def config_edit(change):
    def edit(entries):
        cfg = json.loads(str(array(entries, "__config__.npy")))
        change(cfg)
        entries["__config__.npy"] = npy(np.array(json.dumps(cfg)))
    return edit


def member_edit(name, change):
    def edit(entries):
        entries[name] = npy(change(array(entries, name)))
    return edit


def set_in(keys, value):
    def change(cfg):
        d = cfg
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


def drop(name):
    return lambda entries: entries.pop(name)


def rename(old, new):
    return lambda entries: entries.__setitem__(new, entries.pop(old))


def nan_at_0(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


W, M, V = "param/0.dense.W.npy", "optim/0.dense.W/m.npy", "optim/0.dense.W/v.npy"
RV = "buffer/1.batchnormalization.running_var.npy"

HOSTILE = {
    # bad JSON types and values (each used to get past the checks, and "five" after the weights were changed)
    "epoch-five": (config_edit(set_in(["model", "epoch"], "five")), r"model.epoch must be an integer >= 0, got 'five'"),
    "epoch-negative": (config_edit(set_in(["model", "epoch"], -1)), "model.epoch"),
    "epoch-float": (config_edit(set_in(["model", "epoch"], 2.5)), "model.epoch"),
    "iterations-text": (config_edit(set_in(["compile", "iterations"], "x")), "compile.iterations"),
    "lr-nan": (config_edit(set_in(["compile", "lr"], float("nan"))), "compile.lr must be a finite number > 0"),
    "layers-not-list": (config_edit(set_in(["layers"], "dense")), "layers must be a non-empty list"),
    "layer-no-config": (config_edit(lambda c: c["layers"][0].pop("config")), r"lacks layers\[0\].config"),
    "layer-not-object": (config_edit(set_in(["layers", 1], "dense")), r"layers\[1\] must be an object, got 'dense'"),
    "input-shape-zero": (config_edit(set_in(["model", "input_shape"], [0])), "model.input_shape"),
    "dtype-int8": (config_edit(set_in(["model", "dtype"], "int8")), "model.dtype"),
    "model-not-object": (config_edit(set_in(["model"], [1, 2])), "model must be an object"),
    "config-list": (lambda e: e.__setitem__("__config__.npy", npy(np.array("[1, 2]"))), "not an nnc checkpoint"),
    "config-not-json": (lambda e: e.__setitem__("__config__.npy", npy(np.array("{nope"))), "not valid JSON"),
    "config-bytes": (lambda e: e.__setitem__("__config__.npy", npy(np.zeros(3))), "expected one JSON string"),
    "no-compile-optimizer": (config_edit(lambda c: c["compile"].pop("optimizer")), "lacks compile.optimizer"),
    "optimizer-config": (config_edit(set_in(["compile", "optimizer", "config", "lr"], -1.0)),
                         "Adam: lr must satisfy 0 < lr, got -1.0"),
    "compile-null-with-state": (config_edit(set_in(["compile"], None)), "no compile section"),
    # the random generator: a name that is not a bit generator (np.random.seed!) or a broken state
    "rng-seed": (config_edit(set_in(["rng", "bit_generator"], "seed")), "random generator is 'seed'"),
    "rng-mt": (config_edit(set_in(["rng", "bit_generator"], "MT19937")), "random generator is 'MT19937'"),
    "rng-state": (config_edit(set_in(["rng", "state"], "x")), "random-generator state is invalid"),
    # optimizer slots: wrong names, missing, wrong shape, non-finite
    "slot-renamed": (rename(M, "optim/0.dense.W/velocity.npy"),
                     r"slots \['v', 'velocity'\], but Adam keeps \['m', 'v'\]"),
    "slot-missing": (drop(V), r"slots \['m'\], but Adam keeps \['m', 'v'\]"),
    "slot-no-param": (rename(M, "optim/7.nothing.W/m.npy"), "belongs to no parameter"),
    "slot-shape": (member_edit(M, lambda a: a[:3]), r"is float32\[3, 12\], expected float32\[6, 12\]"),
    "slot-nan": (member_edit(V, nan_at_0), "optim/0.dense.W/v contains NaN or inf"),
    # parameters and buffers: invalid values, dtypes, shapes, missing and extra members
    "param-nan": (member_edit(W, nan_at_0), "param/0.dense.W contains NaN or inf"),
    "running-var-negative": (member_edit(RV, lambda a: -a), "running_var has negative entries"),
    "param-float64": (member_edit(W, lambda a: a.astype(np.float64)), r"is float64\[6, 12\], expected float32"),
    "param-transposed": (member_edit(W, lambda a: a.T.copy()), r"float32\[12, 6\]"),
    "param-missing": (drop(W), r"missing \['param/0.dense.W'\]"),
    "member-extra": (lambda e: e.__setitem__("param/9.x.W.npy", npy(np.zeros(2, np.float32))), "unexpected"),
    "member-not-npy": (lambda e: e.__setitem__("notes.txt", b"hi"), "'notes.txt' is not a .npy array"),
    "member-pickle": (lambda e: e.__setitem__(W, npy(np.array([{"a": 1}], dtype=object))), "Python objects"),
    "member-npy-v3": (lambda e: e.__setitem__(W, b"\x93NUMPY\x03\x00" + e[W][8:]), "format version"),
    # declared sizes far beyond the model: refused from the header, nothing decompressed
    "huge-npy-shape": (lambda e: e.__setitem__(W, npy_header_only((10 ** 6, 10 ** 6), "<f4") + b"\0" * 64),
                       r"float32\[1000000, 1000000\], expected float32\[6, 12\]"),
    "huge-config": (lambda e: e.__setitem__("__config__.npy", npy_header_only((), "<U100000000") + b"{}"),
                    "expected one JSON string of at most"),
    "data-shorter-than-header": (lambda e: e.__setitem__(W, e[W][:-8]), "declares"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_is_refused_and_changes_nothing(good, tmp_path, name):
    edit, match = HOSTILE[name]
    entries = members(good)
    edit(entries)
    assert_refused(write_zip(tmp_path / "bad.npz", entries), match)


def test_the_untouched_file_loads(good):
    """The edits above are what makes each file fail: the same pipeline without an edit loads."""
    r = nnc.load_model(write_zip(good.with_name("copy.npz"), members(good)))
    assert r.epoch == 2 and r.optimizer.iterations == 8


def test_wrong_optimizer_kind_is_refused_by_load(good):
    target = make(seed=99, optimizer="sgd")
    target.build()
    before = snapshot(target)
    with pytest.raises(CheckpointError, match="holds Adam state but the model is compiled with SGD; compile it "
                                              r"with Adam, or use nnc.load_model\(path\)"):
        target.load(good)
    assert_same(before, snapshot(target))


def test_a_different_model_is_told_how_to_load_the_file(good):
    wide = nnc.Sequential([Dense(13, input_shape=(6,)), BatchNormalization(), Dense(3)], seed=0)
    wide.compile(optimizer="adam", loss="softmax_cross_entropy")
    wide.build()
    with pytest.raises(CheckpointError, match=r"is float32\[6, 12\], expected float32\[6, 13\]; "
                                              r"nnc.load_model\(path\) rebuilds the model the file was saved from"):
        wide.load(good)


def test_load_into_an_unbuilt_model_builds_it(good):
    m = make(seed=99)
    m.load(good)
    r = nnc.load_model(good)
    assert m.built and m.epoch == 2
    for a, b in zip(snapshot(m)[0], snapshot(r)[0]):
        np.testing.assert_array_equal(a, b)


def zip_bomb(path, good, name, header, mib):
    """The good checkpoint with member `name` replaced by `header` and `mib` MiB of zeros, deflated to
    about 1 KB per MiB (the way a 1.5 MB file made the old loader allocate 1.5 GB)."""
    entries = members(good)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for k, data in entries.items():
            if k != name:
                z.writestr(k, data)
        with z.open(name, "w", force_zip64=True) as f:
            f.write(header)
            zeros = bytes(1 << 20)
            for _ in range(mib):
                f.write(zeros)
    return path


BOMBS = {   # member, its header (None: the genuine one), what the refusal says
    "declared-shape": (W, npy_header_only((16 << 18,), "<f4"), r"is float32\[4194304\], expected float32\[6, 12\]"),
    "extra-member": ("param/9.junk.W.npy", npy_header_only((16 << 18,), "<f4"), r"unexpected \['param/9.junk.W'\]"),
    "trailing-data": (W, None, r"declares 167\d+ bytes, but its header and float32\[6, 12\] take"),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_zip_bomb_is_refused_before_decompressing(good, tmp_path, kind):
    name, header, match = BOMBS[kind]
    bomb = zip_bomb(tmp_path / "bomb.npz", good, name, header or members(good)[W], 16)
    assert bomb.stat().st_size < 100_000           # under 100 KB on disk, 16 MB inflated
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=match):
            nnc.load_model(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"refusing a 16 MB bomb took {peak} bytes"
    assert_refused(bomb, match)


def test_huge_declared_shape_costs_no_memory(good, tmp_path):
    entries = members(good)
    entries[W] = npy_header_only((10 ** 5, 10 ** 5), "<f4")   # 40 GB declared, 80 bytes stored
    bad = write_zip(tmp_path / "huge.npz", entries)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"float32\[100000, 100000\]"):
            nnc.load_model(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_truncated_and_corrupt_archives(good, tmp_path):
    raw = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[:len(raw) // 2])
    assert_refused(tmp_path / "cut.npz", "not a readable .npz")
    with zipfile.ZipFile(good) as z:
        info = z.getinfo(W)
    flipped = bytearray(raw)
    start = info.header_offset + 30 + len(info.filename) + 150
    flipped[start:start + 4] = bytes(b ^ 0xFF for b in flipped[start:start + 4])
    (tmp_path / "crc.npz").write_bytes(bytes(flipped))
    assert_refused(tmp_path / "crc.npz", r"'param/0.dense.W.npy' is truncated or corrupted \(BadZipFile")


@pytest.mark.parametrize("content", [b"hello, world" * 10, npy(np.zeros(3)), npy(np.array([{"a": 1}], dtype=object))],
                         ids=["text", "plain-npy", "pickled-npy"])
def test_not_a_checkpoint_does_not_suggest_allow_pickle(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    assert_refused(path, "it is not a readable .npz \\(zip\\) archive")


def test_directory_is_named_as_such(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory; a checkpoint is one .npz file"):
        nnc.load_model(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        make().build().save(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        nnc.load_model(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match=r"save_model: the folder '.*nowhere' for .* does not exist; create"):
        make().build().save(tmp_path / "nowhere" / "m.npz")


# ---- saving -------------------------------------------------------------------------------------
def litter(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".nnc-tmp"))


def test_non_finite_model_is_not_saved_over_a_good_file(good):
    m = nnc.load_model(good)
    before = good.read_bytes()
    m.layers[0].params["W"][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"layer 0 'dense' parameter W contains NaN or inf; load_model would "
                                         r"refuse the file, so nothing was written"):
        m.save(good)
    assert good.read_bytes() == before and litter(good.parent) == []


def test_failed_write_leaves_the_old_file_and_no_temp(good, monkeypatch):
    before = good.read_bytes()
    m = nnc.load_model(good)

    def dies_halfway(f, **arrays):
        f.write(b"PK half a checkpoint")
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        m.save(good)
    assert good.read_bytes() == before and litter(good.parent) == []


def test_leftovers_of_killed_saves_are_removed(good):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)   # a process that has exited
    folder = good.parent
    orphan = folder / f".good.npz.{dead}.0123456789abcdef.nnc-tmp"
    other = folder / f".other.npz.{dead}.0123456789abcdef.nnc-tmp"   # another checkpoint's: not ours to judge
    mine = folder / f".good.npz.{os.getpid()}.0123456789abcdef.nnc-tmp"   # a live writer's: kept
    for p in (orphan, other, mine):
        p.write_bytes(b"x" * 1000)
    nnc.load_model(good).save(good)
    assert not orphan.exists() and other.exists() and mine.exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_file_respects_the_umask(tmp_path, umask, mode):
    m = make().build()
    old = os.umask(umask)
    try:
        m.save(tmp_path / "m.npz")
        m.save(tmp_path / "m.npz")   # replacing an existing file too
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == mode


def test_save_writes_through_a_symlink(good, tmp_path):
    real = tmp_path / "runs" / "latest.npz"
    real.parent.mkdir()
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    m = nnc.load_model(good)
    m.save(link)
    assert link.is_symlink() and real.is_file()
    assert nnc.load_model(link).epoch == 2
    m.epoch = 5
    m.save(link)
    assert link.is_symlink() and nnc.load_model(real).epoch == 5
    assert litter(tmp_path) == [] and litter(real.parent) == []


def test_save_fsyncs_the_file_and_its_folder(good, monkeypatch):
    seen, real_fsync = [], os.fsync

    def spy(fd):
        seen.append(stat.S_IFMT(os.fstat(fd).st_mode))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", spy)
    nnc.load_model(good).save(good)
    assert stat.S_IFREG in seen and stat.S_IFDIR in seen
    assert seen.index(stat.S_IFREG) < seen.index(stat.S_IFDIR)   # the data first, then the rename
