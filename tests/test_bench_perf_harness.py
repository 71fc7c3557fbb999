"""The performance harness of benchmarks/perf.py: rows, ratios, roofline floors, the table."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _perf import PerfRow, Rates, paired, per_call, table  # noqa: E402

RATES = Rates(matmul={"float32": 1e11, "float64": 5e10},
              op={"float32": {"add": 4e9, "exp": 1e9}, "float64": {"add": 2e9, "tanh": 5e8}})


def test_rates_slowest_op():
    assert RATES.elementwise == {"float32": 1e9, "float64": 5e8}
    assert RATES.slowest("float64") == "tanh"


def test_dense_and_elementwise_floors():
    dense = PerfRow("w", 2e-3, 4e-3, "ref", "float64", "exact", flops=1e8, target=1.5)
    assert dense.ratio == pytest.approx(2.0)
    assert dense.floor_s(RATES) == pytest.approx(2e-3)          # 1e8 / 5e10
    assert dense.fraction(RATES) == pytest.approx(1.0)
    elem = PerfRow("e", 1e-3, 1e-3, "ref", "float32", "exact", elementwise=1e5)
    assert elem.fraction(RATES) == pytest.approx(0.1)            # 1e5 / 1e9 = 1e-4 s of 1e-3
    none = PerfRow("n", 1.0, 1.0, "ref", "float32", "exact")
    assert none.floor_s(RATES) is None and none.fraction(RATES) is None


def test_table_marks_targets():
    rows = [PerfRow("met", 1e-3, 3e-3, "ref", "float64", "exact", flops=1e6, target=2.0),
            PerfRow("missed", 1e-3, 1e-3, "ref", "float64", "exact", target=2.0)]
    text = table(rows, RATES)
    lines = text.splitlines()
    assert len(lines) == 4
    assert "3.00 (≥ 2) ✓" in lines[2] and "1.00 (≥ 2) ✗" in lines[3]
    assert "—" in lines[3]                                        # no floor stated


def test_verdict_says_when_a_target_is_beyond_the_roofline():
    # floor 2e-3 s (1e8 flop at 5e10 flop/s); the reference takes 3e-3 s: at most 1.5x possible
    beyond = PerfRow("b", 2.5e-3, 3e-3, "ref", "float64", "exact", flops=1e8, target=2.0)
    assert beyond.ratio_at_roofline(RATES) == pytest.approx(1.5)
    assert beyond.verdict(RATES) == "✗ beyond the roofline (≤ 1.50 at the floor)"
    within = PerfRow("w", 2.5e-3, 3e-3, "ref", "float64", "exact", flops=1e7, target=2.0)
    assert within.verdict(RATES) == "✗ (≤ 15.00 at the floor)"
    faster = PerfRow("f", 1e-3, 1.5e-3, "ref", "float64", "exact", flops=1e8, target=2.0)
    assert faster.verdict(RATES) == "✗ (floor not a bound)"        # ours beats the floor
    met = PerfRow("m", 1e-3, 3e-3, "ref", "float64", "exact", flops=1e8, target=2.0)
    assert met.verdict(RATES) == "✓"
    assert "beyond the roofline" in table([beyond], RATES)
    assert PerfRow("n", 1.0, 1.0, "ref", "float64", "exact").verdict(RATES) == ""


def test_paired_times_both_and_orders_them():
    fast, slow = lambda: sum(range(100)), lambda: sum(range(20_000))
    t_fast, t_slow = paired(fast, slow, repeat=3, min_time=0.01)
    assert 0 < t_fast < t_slow


def test_per_call_times_one_function():
    t = per_call(lambda: sum(range(20_000)), repeat=3, min_time=0.01)
    assert 0 < t < per_call(lambda: sum(range(200_000)), repeat=3, min_time=0.01)
