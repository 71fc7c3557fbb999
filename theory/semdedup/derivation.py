"""The threshold 1 − ε as a distance and an angle (sympy; the book's derivation).

For unit vectors a, b ∈ R^d, ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b = 2(1 − a·b), so

    a·b > 1 − ε   ⇔   ‖a − b‖ < √(2ε)   ⇔   ∠(a, b) < arccos(1 − ε) = √(2ε) (1 + ε/12 + O(ε²)).

A semantic duplicate of a point is a point inside the ball of chord radius √(2ε) around it: the
ε-neighbourhoods whose fit inside clusters decides the choice of k.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["threshold_identities"]


def threshold_identities(d: int = 4) -> dict[str, sp.Expr]:
    """Expressions that simplify to zero, by name.

    - ``"chord"``: ‖a − b‖² − (‖a‖² + ‖b‖² − 2a·b) for symbolic a, b ∈ R^d;
    - ``"chord_unit"``: the same on the unit sphere, ‖a − b‖² − 2(1 − a·b), with ‖a‖ = ‖b‖ = 1
      substituted through a's and b's last coordinates;
    - ``"radius"``: (√(2ε))² − 2(1 − (1 − ε)), the chord radius at the threshold;
    - ``"angle_series"``: the series of arccos(1 − ε)/√(2ε) − (1 + ε/12 + 3ε²/160) to O(ε³).
    """
    if not isinstance(d, int) or isinstance(d, bool) or d < 2:
        raise ValueError(f"d must be an int >= 2, got {d!r}")
    a = sp.symbols(f"a1:{d + 1}", real=True)
    b = sp.symbols(f"b1:{d + 1}", real=True)
    dot = sum(x * y for x, y in zip(a, b))
    chord = sum((x - y) ** 2 for x, y in zip(a, b))
    na, nb = sum(x ** 2 for x in a), sum(y ** 2 for y in b)
    unit = {a[-1]: sp.sqrt(1 - sum(x ** 2 for x in a[:-1])),
            b[-1]: sp.sqrt(1 - sum(y ** 2 for y in b[:-1]))}
    eps = sp.symbols("epsilon", positive=True)
    ratio = sp.acos(1 - eps) / sp.sqrt(2 * eps)
    series = sp.series(ratio, eps, 0, 3).removeO()
    return {
        "chord": sp.expand(chord - (na + nb - 2 * dot)),
        "chord_unit": sp.expand((chord - 2 * (1 - dot)).subs(unit)),
        "radius": sp.sqrt(2 * eps) ** 2 - 2 * (1 - (1 - eps)),
        "angle_series": sp.simplify(series - (1 + eps / 12 + sp.Rational(3, 160) * eps ** 2)),
    }
