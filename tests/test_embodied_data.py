"""theory.embodied.data: the real recordings, resampling, windows and behavioural features."""

import numpy as np
import pytest

from theory.embodied import data as D


def _traj(xy, dt=0.1, arena=(0.0, 1.0, 0.0, 1.0)):
    xy = np.asarray(xy, dtype=float)
    return D.Trajectory(t=dt * np.arange(len(xy)), xy=xy, dt=dt, arena=arena, source="test")


@pytest.mark.parametrize("name", ["sargolini", "tanni"])
def test_real_recording_loaded(name):
    tr = D.load_real(name)
    exp = D.REAL[name]
    assert tr.meta["real"] and tr.meta["file"].endswith(f"{name}.npz")
    assert tr.meta["n_raw"] == exp["n_raw"]
    assert abs(tr.duration_s - exp["duration_s"]) < 0.01 * exp["duration_s"]
    assert tr.arena == exp["arena"] and tr.dt == D.DT
    # the path spans the arena (a simulated fallback would be the ratinabox default 1 m box)
    span = tr.xy.max(0) - tr.xy.min(0)
    assert span[0] > 0.9 * (tr.arena[1] - tr.arena[0]) and span[1] > 0.9 * (tr.arena[3] - tr.arena[2])
    assert np.all(np.isfinite(tr.xy))
    assert not tr.xy.flags.writeable


def test_sargolini_numbers():
    tr = D.load_real("sargolini")
    assert len(tr) == 5997                      # 599.6 s at 0.1 s
    assert 0.10 < tr.speeds().mean() < 0.13     # a rat's ~12 cm/s
    assert tr.meta["n_clipped"] == 0


def test_missing_file_raises(monkeypatch, tmp_path):
    monkeypatch.setattr(D, "_data_dir", lambda: str(tmp_path))
    D._raw.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="refusing to fall back"):
            D.load_real("sargolini")
    finally:
        D._raw.cache_clear()


def test_wrong_file_raises(monkeypatch, tmp_path):
    np.savez(tmp_path / "sargolini.npz", t=np.arange(100) * 0.02, pos=np.random.default_rng(0).random((100, 2)))
    monkeypatch.setattr(D, "_data_dir", lambda: str(tmp_path))
    D._raw.cache_clear()
    try:
        with pytest.raises(ValueError, match="not the expected sargolini recording"):
            D.load_real("sargolini")
    finally:
        D._raw.cache_clear()


def test_load_real_bad_name():
    with pytest.raises(ValueError, match="name must be one of"):
        D.load_real("beaver")


def test_resample_bin_average_and_gap_fill():
    t = np.array([0.0, 0.02, 0.04, 0.3, 0.32])
    xy = np.array([[0.1, 0.1], [0.2, 0.1], [0.3, 0.1], [0.6, 0.4], [0.7, 0.4]])
    grid, out, info = D.resample(t, xy, 0.1, (0, 1, 0, 1))
    np.testing.assert_allclose(grid, [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(out[0], [0.2, 0.1])         # mean of the first three
    np.testing.assert_allclose(out[3], [0.65, 0.4])        # mean of the last two
    np.testing.assert_allclose(out[1], [0.2 + (0.65 - 0.2) / 3, 0.1 + 0.1])   # interpolated
    assert info["n_empty_bins"] == 2


def test_resample_drops_nan_samples_and_fills_them():
    t = np.arange(6) * 0.1
    xy = np.array([[0.1, 0.1], [0.2, 0.1], [np.nan, np.nan], [0.4, 0.1], [0.5, np.nan], [0.6, 0.1]])
    grid, out, info = D.resample(t, xy, 0.1, (0, 1, 0, 1))
    assert info["n_nan_dropped"] == 2 and info["n_raw"] == 6 and info["n_empty_bins"] == 2
    np.testing.assert_allclose(out[:, 0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="infinite"):
        D.resample(t, np.where(np.isnan(xy), np.inf, xy), 0.1, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="finite positions"):
        D.resample(t[:2], [[np.nan, 0.1], [0.2, 0.1]], 0.1, (0, 1, 0, 1))


def test_resample_clips_and_rejects_gaps():
    _, out, info = D.resample([0.0, 0.1], [[-0.02, 0.5], [0.5, 1.01]], 0.1, (0, 1, 0, 1))
    assert info["n_clipped"] == 2 and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="max_gap_s"):
        D.resample([0.0, 5.0], [[0.5, 0.5], [0.5, 0.5]], 0.1, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="strictly increasing"):
        D.resample([0.0, 0.0], [[0.5, 0.5], [0.5, 0.5]], 0.1, (0, 1, 0, 1))


def test_trajectory_validation():
    with pytest.raises(ValueError, match="xy must be finite"):
        _traj([[0.5, 0.5], [np.nan, 0.5]])
    with pytest.raises(ValueError, match="inside the arena"):
        _traj([[0.5, 0.5], [1.2, 0.5]])
    with pytest.raises(ValueError, match="at least two samples"):
        _traj([[0.5, 0.5]])
    with pytest.raises(ValueError, match="uniform"):
        D.Trajectory(t=[0, 0.1, 0.3], xy=np.full((3, 2), 0.5), dt=0.1, arena=(0, 1, 0, 1), source="x")
    with pytest.raises(ValueError, match="arena"):
        _traj([[0.5, 0.5], [0.5, 0.5]], arena=(1, 0, 0, 1))
    with pytest.raises(TypeError, match="arena"):
        _traj([[0.5, 0.5], [0.5, 0.5]], arena=(0, 1))


def test_trajectory_equality():
    a = _traj([[0.5, 0.5], [0.6, 0.5]])
    assert a == _traj([[0.5, 0.5], [0.6, 0.5]]) and a != _traj([[0.5, 0.5], [0.6, 0.6]])
    assert a != "a trajectory"


def test_split_halves():
    tr = D.load_real("sargolini")
    a, b = D.split_halves(tr)
    assert len(a) == len(b) == len(tr) // 2
    np.testing.assert_array_equal(b.xy[0], tr.xy[len(tr) // 2])
    assert a.meta["half"] == 0 and b.meta["half"] == 1 and a.meta["real"]
    with pytest.raises(TypeError, match="traj"):
        D.split_halves(tr.xy)


def test_windows_shapes_and_errors():
    tr = _traj(np.column_stack([np.linspace(0.1, 0.9, 20), np.full(20, 0.5)]))
    w = D.windows(tr, 0.5)
    assert w.shape == (4, 5, 2)
    np.testing.assert_array_equal(w[1], tr.xy[5:10])
    assert D.windows(tr, 0.5, stride_s=0.2).shape == (8, 5, 2)
    assert D.windows(tr, 2.0).shape == (1, 20, 2)
    with pytest.raises(ValueError, match="length_s .* longer than the data"):
        D.windows(tr, 2.5)
    with pytest.raises(ValueError, match="length_s .* at least two samples"):
        D.windows(tr, 0.1)
    with pytest.raises(ValueError, match="length_s"):
        D.windows(tr, float("nan"))
    with pytest.raises(ValueError, match="stride_s"):
        D.windows(tr, 0.5, stride_s=0.01)
    with pytest.raises(TypeError, match="traj"):
        D.windows(tr.xy, 0.5)


def test_features_known_paths():
    # a straight line at constant speed 0.5 m/s along y = 0.5
    line = np.column_stack([np.linspace(0.1, 0.55, 10), np.full(10, 0.5)])[None]
    f = dict(zip(D.FEATURE_NAMES, D.features(line, (0, 1, 0, 1))[0]))
    assert f["speed_mean"] == pytest.approx(0.5) and f["speed_std"] == pytest.approx(0, abs=1e-12)
    assert f["accel_abs_mean"] == pytest.approx(0, abs=1e-9) and f["stop_frac"] == 0
    assert f["turn_abs_mean"] == pytest.approx(0, abs=1e-12) and f["turn_cos_mean"] == pytest.approx(1)
    assert f["straightness"] == pytest.approx(1)
    assert f["wall_dist_min"] == pytest.approx(0.1) and f["near_wall_frac"] == 0
    # a zig-zag of right angles: |Δφ| = π/2, cos = 0
    zig = np.array([[0.5, 0.5], [0.6, 0.5], [0.6, 0.6], [0.7, 0.6], [0.7, 0.7]])[None]
    g = dict(zip(D.FEATURE_NAMES, D.features(zig, (0, 1, 0, 1))[0]))
    assert g["turn_abs_mean"] == pytest.approx(np.pi / 2) and g["turn_cos_mean"] == pytest.approx(0, abs=1e-12)
    # standing still: speed 0, all stops, straightness 0 (not NaN)
    still = np.full((1, 5, 2), 0.05)
    h = dict(zip(D.FEATURE_NAMES, D.features(still, (0, 1, 0, 1))[0]))
    assert h["stop_frac"] == 1 and h["straightness"] == 0 and h["near_wall_frac"] == 1
    assert np.isfinite(D.features(still, (0, 1, 0, 1))).all()


def test_features_errors():
    good = np.full((2, 5, 2), 0.5)
    with pytest.raises(ValueError, match="windows must be finite"):
        D.features(np.where(np.arange(5)[None, :, None] == 2, np.nan, good), (0, 1, 0, 1))
    with pytest.raises(ValueError, match="windows must lie inside the arena"):
        D.features(good + 0.6, (0, 1, 0, 1))
    with pytest.raises(ValueError, match="at least three samples"):
        D.features(good[:, :2], (0, 1, 0, 1))
    with pytest.raises(ValueError, match="windows must have 3"):
        D.features(good[0], (0, 1, 0, 1))
    with pytest.raises(ValueError, match="at least one window"):
        D.features(good[:0], (0, 1, 0, 1))


def test_features_of_real_data_finite():
    tr = D.load_real("sargolini")
    F = D.features(D.windows(tr, 5.0), tr.arena)
    assert F.shape == (119, len(D.FEATURE_NAMES)) and np.isfinite(F).all()
