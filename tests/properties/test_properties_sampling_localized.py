"""Property tests of the public entry points of ``lowdim.theory.sampling`` and
``lowdim.theory.localized`` that ``tests/properties/test_properties.py`` does not reach: schedules and
grids, the design-space quantities, mixture quadratures and the sampled law; Gaussian targets,
the noised law, the error decomposition, the generated law and its divergences, and the
closed forms of the calculator.

Same contract (``tests/_props.py``): for any input a finite result (infinities only where the
docstring documents a divergence) or a ``ValueError`` naming the parameter.  Where a result
has a structural guarantee (a decreasing grid, a non-negative divergence, a symmetric
covariance, a bound above the value it bounds ...) it is asserted too.

``pytest tests/properties/test_properties_sampling_localized.py --hypothesis-profile=thorough`` runs 400
cases per test instead of 25.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from _props import as_array, check, counts, reals


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """The matrices here are tiny: on a busy two-core machine a multithreaded BLAS makes
    each product tens of times slower, so this module runs with one BLAS thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def mostly(good, edge, one_in=4):
    """Usually ``good`` (so that valid calls are reached), ``edge`` about one time in
    ``one_in``."""
    return st.integers(1, one_in).flatmap(lambda i: edge if i == one_in else good)


def num(lo, hi, edge_lo=-1.0, edge_hi=None, kinds=True):
    """Mostly a float in ``[lo, hi]``, sometimes anything from :func:`reals` (the edges and,
    unless ``kinds=False`` for values the test computes with, the wrong kinds)."""
    return mostly(st.floats(lo, hi), reals(edge_lo, hi if edge_hi is None else edge_hi,
                                           kinds=kinds))


def cnt(lo, hi, edge_hi=None):
    """Mostly an int in ``[lo, hi]``, sometimes anything from :func:`counts`."""
    return mostly(st.integers(lo, hi), counts(hi if edge_hi is None else edge_hi))


def _size(values):
    """How many numbers ``values`` holds, for values the library took (``np.size`` reads a
    tensor's ``size`` method, not its count)."""
    return np.asarray(values, dtype=float).size


def _seen(label, value):
    """Record whether a call gave a result or a named error (--hypothesis-show-statistics)."""
    event(f"{label}: {'result' if value is not None else 'named error'}")
    return value


# =========================================================================== sampling
# noise levels: mostly ordinary, sometimes the edges of reals() or of the supported range
SMIN = mostly(st.floats(1e-3, 1), st.one_of(reals(0, 10), st.sampled_from([1e-100, 1e-99])))
SMAX = mostly(st.floats(2, 200), st.one_of(reals(0, 200), st.sampled_from([1e99, 1e100])))
GRID_NAMES = ("N", "sigma_min", "sigma_max", "rho", "schedule", "sigmas", "kind")


def _grid(kind, N, smin=0.002, smax=80.0, rho=7.0):
    from lowdim.theory.sampling import make_grid

    return check(lambda: make_grid(kind, N, smin, smax, rho=rho), GRID_NAMES)


def _assert_grid(g, N=None):
    assert np.all(np.isfinite(g.times)) and np.all(g.times > 0)
    assert np.all(np.diff(g.times) < 0), g.times
    assert np.all(np.diff(g.sigmas) < 0), g.sigmas
    assert np.all(g.steps > 0)
    if N is not None:
        assert g.N == N


# ----------------------------------------------------------------- schedules
@given(which=st.sampled_from(["edm", "song", "EDM", "ve", "song-ve", "karras?", 3.0, None]),
       t=reals(-1, 1e4), s=reals(-1, 1e4), a=reals(-1, 100), b=reals(-1, 100))
def test_sampling_get_schedule_and_builtin_schedules(which, t, s, a, b):
    from lowdim.theory.sampling import VarianceSchedule, get_schedule

    names = ("schedule", "t", "s", "a", "b")
    sched = _seen("get_schedule", check(lambda: get_schedule(which), names))
    if sched is None:
        return
    assert isinstance(sched, VarianceSchedule)
    assert get_schedule(sched) is sched
    sb = _seen("sigma_bar", check(lambda: sched.sigma_bar(t), names))
    if sb is not None:
        assert sb > 0
        back = _seen("inverse", check(lambda: sched.inverse(sb), names))
        if back is not None:
            assert math.isclose(back, t, rel_tol=1e-12)
    inv = _seen("inverse", check(lambda: sched.inverse(s), names))
    if inv is not None:
        assert inv > 0
    ds = _seen("diffusion_sq", check(lambda: sched.diffusion_sq(t), names))
    if ds is not None:
        assert ds > 0
    ed = _seen("ed_integral", check(lambda: sched.ed_integral(a, b), names))
    if ed is not None:
        assert (ed >= 0) == (a <= b) or ed == 0


@given(name=mostly(st.sampled_from(["mine", ""]), st.sampled_from([3, None])),
       fields=st.lists(mostly(st.just("ok"), st.sampled_from([None, 1.0, "t"]), 8),
                       min_size=4, max_size=4))
def test_sampling_variance_schedule_fields(name, fields):
    from lowdim.theory.sampling import EDM, VarianceSchedule

    names = ("name", "sigma_bar", "inverse", "diffusion_sq", "ed_integral")
    ok = [EDM.sigma_bar, EDM.inverse, EDM.diffusion_sq, EDM.ed_integral]
    args = [ok[i] if f == "ok" else f for i, f in enumerate(fields)]
    sched = _seen("VarianceSchedule", check(lambda: VarianceSchedule(name, *args), names))
    if sched is not None:
        assert repr(sched).startswith("VarianceSchedule(")


def _user_sigma_bar(kind, p):
    if kind == "power":
        return lambda t: np.float64(t) ** np.float64(p)
    if kind == "exp":
        return lambda t: np.expm1(np.float64(p) * t)
    if kind == "log":
        return lambda t: np.log1p(np.float64(t)) * p
    if kind == "nan":
        return lambda t: math.nan
    if kind == "const":
        return lambda t: p
    return p  # not callable


@given(kind=st.sampled_from(["power", "exp", "log", "nan", "const", "number"]),
       p=num(0.1, 3, -2, kinds=False), t_max=num(10, 1e9), h=num(1e-8, 1e-2, -1, 1), t=num(1e-3, 100),
       sig=mostly(st.lists(st.floats(1e-3, 10), min_size=2, max_size=4, unique=True).map(
           lambda x: sorted(x, reverse=True)), st.lists(reals(-1, 100), max_size=4)))
def test_sampling_custom_schedule(kind, p, t_max, h, t, sig):
    from lowdim.theory.sampling import custom_schedule, get_schedule, user_grid

    names = ("schedule", "t_max", "h", "t", "s", "a", "b", "sigmas")
    with np.errstate(all="ignore"):  # the user's function may overflow; the library reports it
        sched = _seen("custom_schedule", check(
            lambda: custom_schedule(_user_sigma_bar(kind, p), t_max=t_max, h=h), names))
        if kind != "number":
            check(lambda: get_schedule(_user_sigma_bar(kind, p)), names)
        if sched is None:
            return
        sb = _seen("sigma_bar", check(lambda: sched.sigma_bar(t), names))
        if sb is not None:
            assert sb > 0
            check(lambda: sched.inverse(sb), names)
        check(lambda: sched.diffusion_sq(t), names)
        check(lambda: sched.ed_integral(t, 2 * t), names)
        g = _seen("user_grid", check(lambda: user_grid(sig, schedule=sched), names))
    if g is not None:
        _assert_grid(g, len(sig) - 1)


@given(N=cnt(1, 12), smin=SMIN, smax=SMAX, rho=num(0.5, 50, -5),
       schedule=st.sampled_from(["edm", "song", "bogus"]),
       sig=mostly(st.lists(st.floats(1e-3, 100), min_size=2, max_size=6, unique=True).map(
           lambda x: sorted(x, reverse=True)),
           st.one_of(st.lists(reals(-1, 100), max_size=6), st.sampled_from(["abc", 3.0, None]))))
def test_sampling_grid_builders(N, smin, smax, rho, schedule, sig):
    from lowdim.theory.sampling import (edm_grid, gaussian_kl, geometric_grid, kl_bound, uniform_grid,
                                 user_grid)

    for g in (_seen("edm_grid", check(lambda: edm_grid(N, smin, smax, rho, schedule),
                                      GRID_NAMES)),
              _seen("geometric_grid", check(lambda: geometric_grid(N, smin, smax, schedule),
                                            GRID_NAMES)),
              _seen("uniform_grid", check(lambda: uniform_grid(N, smin, smax, schedule),
                                          GRID_NAMES))):
        if g is not None:
            _assert_grid(g, N)
            assert math.isclose(g.sigmas[0], smax, rel_tol=1e-9)
            assert math.isclose(g.sigmas[-1], smin, rel_tol=1e-9)
            assert g.describe()
            # the bound (both forms) and the Gaussian KL on any grid built, up to sigma = 1e100
            for form in ("explicit", "paper"):
                b = check(lambda: kl_bound(g, 2, 1.0, 0.1, form=form), ("grid",))
                assert b is None or (b.E_I >= 0 and b.E_S >= 0 and b.E_D1 >= 0)
            kl = check(lambda: gaussian_kl(g, 0.25, 2), ("data_variance",))
            assert kl is not None and kl >= 0
    g = _seen("user_grid", check(lambda: user_grid(sig, schedule), GRID_NAMES))
    if g is not None:
        _assert_grid(g, len(sig) - 1)
        assert np.allclose(g.sigmas, sig, rtol=1e-9)


@given(schedule=mostly(st.sampled_from(["edm", "song"]), st.sampled_from(["x", None])),
       times=mostly(st.lists(st.floats(1e-3, 100), min_size=2, max_size=5, unique=True).map(
           lambda x: sorted(x, reverse=True)), st.lists(reals(-1, 100), max_size=4)),
       kind=mostly(st.just("user"), st.just(3)), rho=st.one_of(st.none(), num(0.5, 50)))
def test_sampling_grid_built_directly(schedule, times, kind, rho):
    from lowdim.theory.sampling import SamplingGrid, get_schedule, kl_bound

    sched = get_schedule(schedule) if schedule in ("edm", "song") else schedule
    names = ("schedule", "times", "kind", "rho")
    g = _seen("SamplingGrid", check(lambda: SamplingGrid(sched, times, kind, rho), names))
    if g is not None:
        _assert_grid(g, len(times) - 1)
        terms = check(lambda: kl_bound(g, 1, 1.0), ("grid",))
        assert terms is not None and terms.total >= 0


def _profile_arg(kind, value, size):
    if kind == "number":
        return value
    if kind == "array":
        return [value] * size
    if kind == "callable":
        return lambda s: value * np.asarray(s) ** 2
    if kind == "bad-callable":
        return lambda s: np.ones(np.size(s) + 1)
    return value if kind == "junk" else "abc"


@given(N=st.integers(1, 6), kind=st.sampled_from(["number", "array", "callable",
                                                  "bad-callable", "string"]),
       value=num(0, 10, kinds=False), size_delta=mostly(st.just(0), st.integers(-1, 1)))
def test_sampling_score_error_profile(N, kind, value, size_delta):
    from lowdim.theory.sampling import score_error_profile

    g = _grid("edm", N)
    arg = _profile_arg(kind, value, N + size_delta)
    eps2 = _seen("score_error_profile", check(lambda: score_error_profile(g, arg),
                                              ("score_error",)))
    if eps2 is not None:
        assert eps2.shape == (N,) and np.all(eps2 >= 0)


# ----------------------------------------------------------------- design space
@given(N=cnt(1, 120), rhos=mostly(st.lists(st.floats(0.5, 50), min_size=1, max_size=3),
                                   st.one_of(st.lists(reals(-1, 50), max_size=3), reals(-1, 50))),
       smin=SMIN, smax=SMAX, form=st.sampled_from(["explicit", "paper",
                                                                            "?"]),
       d=cnt(1, 100), m2=num(0, 1e4))
def test_sampling_rho_scan(N, rhos, smin, smax, form, d, m2):
    from lowdim.theory.sampling import rho_scan

    names = ("N", "rhos", "rho", "sigma_min", "sigma_max", "form", "d", "m2")
    # the argmin is inf when the geometric limit is lowest (documented)
    out = _seen("rho_scan", check(lambda: rho_scan(N, rhos, smin, smax, form=form, d=d, m2=m2),
                                  names, allow_inf=True))
    if out is None:
        return
    r, ed, geo, best = out
    assert ed.shape == r.shape and r.size >= 1
    assert np.all(np.isfinite(ed)) and math.isfinite(geo)
    assert best == math.inf or best in r
    if form == "explicit":
        assert np.all(ed >= 0) and geo >= 0


@given(N=st.one_of(cnt(1, 1000), st.lists(cnt(1, 1000), min_size=1, max_size=3)),
       smin=SMIN, smax=SMAX, rho=num(0.5, 50), d=cnt(1, 1000))
def test_sampling_bound_optimal_rho_and_edm_leading_term(N, smin, smax, rho, d):
    from lowdim.theory.sampling import bound_optimal_rho, edm_leading_discretization

    names = ("N", "sigma_min", "sigma_max", "rho", "d")
    r = _seen("bound_optimal_rho", check(lambda: bound_optimal_rho(smin, smax), names))
    if r is not None:
        assert r > 0
    lead = _seen("edm_leading_discretization",
                 check(lambda: edm_leading_discretization(N, smin, smax, rho, d), names))
    if lead is not None:
        assert np.shape(lead) == np.shape(N) and np.all(np.asarray(lead) >= 0)


@given(sigma=st.one_of(num(1e-3, 1e3), st.lists(num(1e-3, 1e3), max_size=3)),
       p_mean=num(-5, 5, -10, 10), p_std=num(0.1, 5, -1, 10), sigma_data=num(0.01, 5, -1, 10),
       smin=num(1e-3, 1, -1, 10), smax=num(2, 1e3))
def test_sampling_training_weightings(sigma, p_mean, p_std, sigma_data, smin, smax):
    from lowdim.theory.sampling import beta_edm, beta_song

    names = ("sigma", "p_mean", "p_std", "sigma_data", "sigma_min", "sigma_max")
    b = _seen("beta_edm", check(lambda: beta_edm(sigma, p_mean, p_std, sigma_data), names))
    if b is not None:
        assert np.shape(b) == np.shape(sigma) and np.all(b >= 0)
    b = _seen("beta_song", check(lambda: beta_song(sigma, smin, smax), names))
    if b is not None:
        s = np.asarray(sigma, float)
        inside = (s >= float(smin)) & (s <= float(smax))   # numbers the library took
        assert np.allclose(b, np.where(inside, 1.0 / np.where(inside, s, 1.0), 0.0))


@given(kind=st.sampled_from(["edm", "geometric", "uniform"]), N=st.integers(1, 12),
       smin=SMIN, smax=SMAX, n_sub=cnt(1, 40),
       max_width=mostly(st.floats(0.05, 5), st.one_of(reals(-1, 5), st.just(1e-9))))
def test_sampling_step_quadrature(kind, N, smin, smax, n_sub, max_width):
    from lowdim.theory.sampling import step_quadrature

    g = _grid(kind, N, smin, smax)
    if g is None:
        return
    out = _seen("step_quadrature", check(lambda: step_quadrature(g, n_sub, max_width),
                                         ("n_sub", "max_width")))
    if out is None:
        return
    nodes, weights, step = out
    v = g.variances
    assert np.all(weights > 0)
    assert np.all((nodes <= v[step] * (1 + 1e-12)) & (nodes >= v[step + 1] * (1 - 1e-12)))
    per_step = np.bincount(step, weights, minlength=g.N)
    # Gauss-Legendre in ln v integrates dv = e^u du to round-off with enough nodes per piece
    if n_sub >= 6 and max_width <= 1:
        assert np.allclose(per_step, v[:-1] - v[1:], rtol=1e-9)


# ----------------------------------------------------------------- mixtures
MIX_NAMES = ("weights", "means", "variances", "mixture", "v", "n_nodes", "x", "score_shift", "j")


@st.composite
def mixtures(draw):
    """Mostly valid one-dimensional mixtures (weights normalised), with edge means and
    variances; sometimes bad weights or a two-dimensional mixture."""
    from lowdim.theory.sampling import GaussianMixture

    K = draw(st.integers(1, 3))
    raw = draw(st.lists(st.floats(0.05, 1.0), min_size=K, max_size=K))
    w = draw(mostly(st.just(np.array(raw) / sum(raw)),
                    st.lists(reals(-1, 2), min_size=K, max_size=K).map(as_array), 8))
    mu = as_array(draw(st.lists(mostly(st.floats(-5, 5), reals(-20, 20)), min_size=K,
                                max_size=K)))
    if draw(mostly(st.just(False), st.just(True), 8)) and isinstance(mu, np.ndarray):
        mu = np.stack([mu, mu], axis=1)   # two-dimensional data
    var = as_array(draw(st.lists(mostly(st.floats(0, 2), reals(-1, 5)), min_size=K,
                                 max_size=K)))
    return check(lambda: GaussianMixture(w, mu, var), MIX_NAMES)


@given(separation=num(0.1, 10, -1, 1e300), std=num(0, 2, -1, 1e300), K=cnt(1, 5))
def test_sampling_symmetric_mixture(separation, std, K):
    from lowdim.theory.sampling import GaussianMixture

    mix = _seen("symmetric_1d", check(lambda: GaussianMixture.symmetric_1d(separation, std, K),
                                      ("separation", "std", "K")))
    if mix is not None:
        assert mix.K == K and np.allclose(mix.weights, 1.0 / K)
        assert abs(mix.means.sum()) <= 1e-9 * (1 + np.abs(mix.means).max())
        assert np.all(np.diff(mix.means[:, 0]) > 0) and np.all(mix.variances == mix.variances[0])


def _variance(mix):
    """The variance of a one-dimensional mixture, about its mean (no cancellation for means
    far from 0)."""
    centre = np.sum(mix.weights * mix.means[:, 0])
    return float(np.sum(mix.weights * ((mix.means[:, 0] - centre) ** 2 + mix.variances)))


@given(mix=mixtures(), v=st.one_of(num(1e-3, 100), st.lists(num(1e-3, 100), max_size=3)),
       n_nodes=cnt(8, 160, 200))
def test_sampling_fisher_information_and_entropy(mix, v, n_nodes):
    from lowdim.theory.sampling import entropy_1d, fisher_information_1d

    if mix is None:
        return
    J = _seen("fisher_information_1d",
              check(lambda: fisher_information_1d(mix, v, n_nodes), MIX_NAMES))
    if J is not None:
        assert np.shape(J) == np.shape(v) and np.all(J > 0)
        # Cramer-Rao: J(v) >= 1 / Var(p_v), with equality for a single Gaussian
        vv = np.asarray(v, float)
        assert np.all(J * (_variance(mix) + vv) >= 1 - 1e-6)
    vs = (v[0] if v else 1.0) if isinstance(v, list) else v
    H = _seen("entropy_1d", check(lambda: entropy_1d(mix, vs, n_nodes), MIX_NAMES))
    if H is not None:   # the Gaussian of the same variance has the largest entropy
        var = _variance(mix) + float(vs)
        gauss = 0.5 * math.log(2 * math.pi * math.e * var)
        if mix.K == 1:          # a Gaussian: log p is quadratic, Gauss-Hermite is exact
            assert math.isclose(H, gauss, rel_tol=1e-9, abs_tol=1e-9)
        elif n_nodes >= 100:    # (fewer nodes misjudge a mixture's log density)
            assert H <= gauss + 1e-6 * (1 + abs(H))


@given(mix=mixtures(), shift=st.one_of(st.none(), st.lists(num(-5, 5), max_size=3)),
       x=st.one_of(num(-30, 30), st.lists(num(-30, 30), max_size=3)), v=num(1e-3, 100),
       j=mostly(st.integers(0, 2), st.sampled_from([-1, 3, 1.0, True])))
def test_sampling_mixture_score_1d(mix, shift, x, v, j):
    from lowdim.theory.sampling import mixture_score_1d

    if mix is None:
        return
    out = _seen("mixture_score_1d", check(lambda: mixture_score_1d(mix, shift), MIX_NAMES))
    if out is None:
        return
    score, dscore = out
    s = _seen("score", check(lambda: score(x, v, j), MIX_NAMES))
    if s is not None:
        assert np.shape(s) == np.shape(x)
    ds = _seen("dscore", check(lambda: dscore(x, v, j), MIX_NAMES))
    if ds is not None:
        # S' >= -1 / (lambda_min + v): the step map of the sampler is increasing
        assert np.all(ds >= -1.0 / (mix.variances.min() + float(v)) * (1 + 1e-9))


def _score_option(kind, mix, scale):
    from lowdim.theory.sampling import mixture_score_1d

    if kind == "exact":
        return None, None
    if kind == "shifted":
        return mixture_score_1d(mix, np.full(8, scale))
    if kind == "linear":
        return (lambda x, v, j: -x / (v + abs(scale))), None
    if kind == "steep":       # a score whose step map is not increasing
        return (lambda x, v, j: -scale * np.sin(x) * 1e3 / v), None
    if kind == "nan":
        return (lambda x, v, j: np.full(np.shape(x), np.nan)), None
    return "not a score", None


@given(mix=mixtures(), kind=st.sampled_from(["edm", "geometric", "uniform"]),
       N=cnt(1, 5), smin=num(0.05, 0.5, 0, 1), smax=num(1, 10, 0, 100),
       score=st.sampled_from(["exact", "shifted", "linear", "steep", "nan", "junk"]),
       scale=mostly(st.floats(-3, 3), reals(-3, 3)),
       n_nodes=mostly(st.sampled_from([256, 1000, 2048]), counts(600)),
       check_=mostly(st.booleans(), st.just("yes")))
def test_sampling_sampler_law_1d(mix, kind, N, smin, smax, score, scale, n_nodes, check_):
    from lowdim.theory.sampling import sampler_law_1d

    if mix is None:
        return
    g = _grid(kind, N, smin, smax)
    if g is None:
        return
    names = MIX_NAMES + ("score", "dscore", "grid", "check")
    opt = check(lambda: _score_option(score, mix, scale), names)
    if opt is None:
        return
    sc, dsc = opt
    law = _seen("sampler_law_1d", check(
        lambda: sampler_law_1d(g, mix, sc, dsc, n_nodes=n_nodes, check=check_), names,
        allow_inf=True))
    if law is None:
        return
    assert np.all(law.density >= 0) and np.all(np.diff(law.x) > 0)
    assert math.isclose(np.trapezoid(law.density, law.x), 1.0, rel_tol=1e-9)
    assert law.kl >= -1e-6
    assert math.isfinite(law.mass_error)
    assert check_ is True or math.isnan(law.kl_change)


# =========================================================================== localized
LOC_NAMES = ("t", "r", "radii", "sites", "distances", "relative", "r0", "kappa", "eps",
             "target", "lattice", "shape")


def _target(d, r0=1, kappa=10.0, periodic=True):
    from lowdim.theory.localized import Lattice, banded_gaussian

    return banded_gaussian(Lattice((d,), periodic=periodic), r0, kappa)


targets = st.builds(lambda d, r0, kappa, periodic: _target(d, min(r0, (d - 1) // 2), kappa,
                                                             periodic),
                    d=st.integers(4, 10), r0=st.integers(1, 3),
                    kappa=st.one_of(st.sampled_from([1.0, 1e11]), st.floats(1.0, 1e4)),
                    periodic=st.booleans())
times = st.one_of(num(1e-3, 20), st.lists(num(1e-3, 20), max_size=3))


@given(b=cnt(2, 8), periodic=st.booleans(), diag=num(0.1, 1e3, kinds=False),
       off=num(-0.45, 0.45, -1e3, 1e3, kinds=False),
       r0=st.one_of(st.none(), cnt(1, 4)),
       form=mostly(st.just("banded"), st.sampled_from(["asymmetric", "wrong-shape", "string",
                                                       "dense"])))
def test_localized_gaussian_target(b, periodic, diag, off, r0, form):
    from lowdim.theory.localized import GaussianTarget, Lattice

    names = ("precision", "lattice", "shape", "r0", "periodic")
    lat = check(lambda: Lattice((b,), periodic=periodic), names)
    if lat is None:
        return
    n = lat.size
    dist = lat.distances()
    with np.errstate(all="ignore"):
        P = diag * (np.eye(n) + off * (dist == 1))
    if form == "asymmetric":
        P = P + np.triu(np.ones((n, n)), 1)
    elif form == "wrong-shape":
        P = P[:-1]
    elif form == "string":
        P = [["a"] * n] * n
    elif form == "dense":
        P = P + 0.1 * abs(off) * np.ones((n, n))
    target = _seen("GaussianTarget", check(lambda: GaussianTarget(P, lat, r0=r0), names))
    if target is None:
        return
    assert target.dim == n and 0 <= target.r0
    assert np.all(np.diff(target.eigenvalues) >= 0) and target.eigenvalues[0] > 0
    out = check(lambda: (target.covariance, target.kappa, target.kl_to_standard_normal()),
                names)
    assert out is not None
    C, kappa, kl = out
    assert kappa >= 1 and kl >= 0
    assert np.allclose(C @ target.precision, np.eye(n), atol=1e-6 * kappa)
    assert isinstance(target.translation_invariant, bool)
    assert repr(target).startswith("GaussianTarget(")


@given(target=targets, t=times,
       distances=st.one_of(num(1, 20), st.lists(num(1, 20), max_size=3)),
       relative=mostly(st.booleans(), st.sampled_from(["yes", None])))
def test_localized_noised_law_and_decay(target, t, distances, relative):
    from lowdim.theory.localized import (decay_rate, noised_covariance, noised_precision,
                                  precision_decay, precision_decay_bound)

    names = LOC_NAMES
    C = _seen("noised_covariance", check(lambda: noised_covariance(target, t), names))
    P = _seen("noised_precision", check(lambda: noised_precision(target, t), names))
    if C is None:
        assert P is None
        return
    T, d = _size(t), target.dim
    assert C.shape == P.shape == (T, d, d)
    assert np.allclose(C, np.swapaxes(C, 1, 2), atol=1e-12)
    assert np.allclose(C @ P, np.eye(d), atol=1e-6 * target.kappa)
    q, K, kap = _seen("decay_rate", check(lambda: decay_rate(target, t), names))
    assert np.all((0 <= q) & (q < 1)) and np.all(K > 0) and np.all(kap >= 1 - 1e-12)
    prof = _seen("precision_decay",
                 check(lambda: precision_decay(target, t, relative=relative), names))
    if prof is not None:
        assert prof.shape == (T, target.lattice.diameter + 1)
        if relative:
            assert np.allclose(prof[:, 0], 1.0)
    # the Demko-Moss-Smith bound may diverge as t -> 0 (documented)
    bound = _seen("precision_decay_bound",
                  check(lambda: precision_decay_bound(target, t, distances), names,
                        allow_inf=True))
    if bound is not None:
        assert bound.shape == (T, _size(distances)) and np.all(bound >= 0)
        ks = np.arange(1, target.lattice.diameter + 1)
        exact = precision_decay(target, t, relative=False)
        full = precision_decay_bound(target, t, ks)
        floor = 1e-12 * exact[:, :1]     # round-off of the spectral P_t
        assert np.all(exact[:, 1:] <= full * (1 + 1e-8) + floor), (exact, full)


@given(target=targets, radii=st.one_of(st.none(), cnt(0, 5), st.lists(
           st.one_of(st.none(), cnt(0, 5)), max_size=3)),
       t=times, sites=mostly(st.one_of(st.none(), st.lists(st.integers(0, 3), min_size=1,
                                                            max_size=3)),
                             st.one_of(st.lists(counts(12), max_size=3), counts(3))))
def test_localized_site_errors(target, radii, t, sites):
    from lowdim.theory.localized import (localization_error, noised_precision, site_errors,
                                  statistical_variance)

    names = LOC_NAMES
    out = _seen("site_errors", check(lambda: site_errors(target, radii, t, sites), names))
    if out is None:
        return
    eps, V = out
    rl = list(radii) if isinstance(radii, list) else [radii]   # radii taken by the library
    R = len(rl)
    assert eps.shape[:2] == (R, _size(t)) and eps.shape == V.shape
    assert np.all(eps >= 0)
    Pt = noised_precision(target, t)
    scale = np.max(np.abs(Pt))
    assert np.all(V >= -1e-9 * scale ** 2)
    for k, r in enumerate(rl):
        if r is None or r >= target.lattice.diameter:   # the global model: no error
            assert np.all(eps[k] <= (1e-8 + 1e-13 * target.kappa) * scale)
    loc = _seen("localization_error", check(lambda: localization_error(target, radii, t), names))
    var = _seen("statistical_variance",
                check(lambda: statistical_variance(target, radii, t), names))
    if sites is None:
        assert np.allclose(loc, eps.mean(axis=2)) and np.allclose(var, V.mean(axis=2))


@given(target=targets, r=st.one_of(st.none(), cnt(0, 5)), t=times)
def test_localized_population_score(target, r, t):
    from lowdim.theory.localized import noised_precision, population_localized_score

    A = _seen("population_localized_score",
              check(lambda: population_localized_score(target, r, t), LOC_NAMES))
    if A is None:
        return
    Pt = noised_precision(target, t)
    assert A.shape == Pt.shape
    r = None if r is None else int(r)  # a radius the library took (a tensor too)
    if r is None or r >= target.lattice.diameter:
        assert np.allclose(A, Pt, atol=(1e-8 + 1e-13 * target.kappa) * np.abs(Pt).max())
    else:
        # row i only sees its neighbourhood
        dist = target.lattice.distances()
        assert np.all(A[:, dist > r] == 0)


@given(r=st.one_of(st.none(), counts(10), reals(-1, 10), st.sampled_from(["1", True, [1]])),
       name=st.sampled_from(["r", "radii"]))
def test_localized_check_radius(r, name):
    from lowdim.theory.localized import check_radius

    out = _seen("check_radius", check(lambda: check_radius(r, name), (name,)))
    if r is None:
        assert out is None
    elif out is not None:
        assert isinstance(out, int) and out >= 0 and out == r


# ----------------------------------------------------------------- generated law
TIME_NAMES = ("delta", "T", "steps", "times", "values")


@given(delta=num(1e-4, 1, -1, 10), T=num(1.5, 100), steps=cnt(1, 50),
       c=num(-10, 10, kinds=False),
       values=mostly(st.none(), st.lists(reals(-10, 10), max_size=5)),
       junk=st.sampled_from([None, "x", [[1.0]]]))
def test_localized_time_grid_and_grid_integral(delta, T, steps, c, values, junk):
    from lowdim.theory.localized import grid_integral, time_grid

    times = _seen("time_grid", check(lambda: time_grid(delta, T, steps), TIME_NAMES))
    check(lambda: time_grid(junk, T, steps), TIME_NAMES)
    if times is None:
        return
    assert times.size == steps + 1 and np.all(np.diff(times) > 0)
    assert times[0] == delta and times[-1] == T
    vals = np.full(times.size, c) if values is None else values
    out = _seen("grid_integral", check(lambda: grid_integral(vals, times), TIME_NAMES))
    if out is not None and values is None:
        assert math.isclose(out, c * (T - delta), rel_tol=1e-9, abs_tol=1e-300)
    check(lambda: grid_integral(np.ones(times.size), junk), TIME_NAMES)


@st.composite
def spd(draw, d):
    """A symmetric matrix ``Q diag(e) Q^T`` with edge eigenvalues, sometimes broken."""
    e = np.array(draw(st.lists(num(1e-3, 1e3, kinds=False), min_size=d, max_size=d)))
    seed = draw(st.integers(0, 2**16))
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    with np.errstate(all="ignore"):
        C = (Q * e) @ Q.T
    how = draw(mostly(st.just("ok"), st.sampled_from(["asymmetric", "shape", "vector", "nan"])))
    if how == "asymmetric":
        C = C + np.triu(np.ones((d, d)), 1)
    elif how == "shape":
        C = np.ones((d, d + 1))
    elif how == "vector":
        C = np.ones(d)
    elif how == "nan":
        C = np.full((d, d), np.nan)
    return C


@given(data=st.data(), d=st.integers(1, 3), d2=mostly(st.none(), st.integers(1, 3)))
def test_localized_gaussian_divergences(data, d, d2):
    from lowdim.theory.localized import gaussian_kl, gaussian_w2, marginal_kl

    C1 = data.draw(spd(d))
    C2 = data.draw(spd(d if d2 is None else d2))
    names = ("C1", "C2")
    kl = _seen("gaussian_kl", check(lambda: gaussian_kl(C1, C2), names))
    if kl is not None:
        ev = np.linalg.eigvalsh(0.5 * (C1 + C1.T))
        cond = ev.max() / ev.min()                  # round-off grows with it
        assert kl >= -(1e-9 + 1e-14 * cond) * (1 + abs(kl))
        assert abs(gaussian_kl(C1, C1)) <= (1e-9 + 1e-14 * cond) * np.size(C1)
    w2 = _seen("gaussian_w2", check(lambda: gaussian_w2(C1, C2), names))
    if w2 is not None:
        assert w2 >= 0
    mk = _seen("marginal_kl", check(lambda: marginal_kl(C1, C2), names))
    if mk is not None:
        assert mk.shape == (d,) and np.all(mk >= -1e-12)


@given(data=st.data(), d=st.integers(1, 3), K=st.integers(0, 4), scale=num(-2, 2, -10, 10, kinds=False),
       times=mostly(st.lists(st.floats(1e-3, 20), min_size=2, max_size=5, unique=True).map(sorted),
                    st.one_of(st.lists(reals(-1, 20), min_size=0, max_size=5),
                              st.builds(lambda a, b: [a, a + b], st.floats(1e-3, 1),
                                        reals(0, 1e4, kinds=False)))),
       sigma0=mostly(st.sampled_from(["none", "ok"]), st.just("bad")))
def test_localized_reverse_covariance(data, d, K, scale, times, sigma0):
    from lowdim.theory.localized import reverse_covariance

    seed = data.draw(st.integers(0, 2**16))
    with np.errstate(all="ignore"):
        A = scale * np.random.default_rng(seed).normal(size=(len(times) or K, d, d))
    S0 = {"none": None, "ok": np.eye(d) * 2.0, "bad": data.draw(spd(d))}[sigma0]
    S = _seen("reverse_covariance",
              check(lambda: reverse_covariance(A, times, S0), ("A", "times", "Sigma0")))
    if S is not None:
        assert S.shape == (d, d) and np.allclose(S, S.T, rtol=1e-9, atol=1e-12 * np.abs(S).max())
        assert np.linalg.eigvalsh(S).min() >= -1e-9 * np.abs(S).max()


@given(target=targets, r=st.one_of(st.none(), st.integers(0, 3)), noise=num(-1, 1, -1, 10, kinds=False),
       delta=num(1e-3, 0.5, -1, 1), T=num(1, 20, -1, 50), steps=st.integers(1, 10),
       nodes=cnt(1, 12), bad=mostly(st.just(""), st.sampled_from(["shape", "nan"])))
def test_localized_girsanov_bound_and_floor(target, r, noise, delta, T, steps, nodes, bad):
    from lowdim.theory.localized import (discretization_floor, gaussian_kl, girsanov_bound,
                                  localization_kl, noised_covariance,
                                  population_localized_score, reverse_covariance, time_grid)

    names = ("A", "times", "nodes", "delta", "T", "steps", "target", "radii", "t")
    times = _seen("time_grid", check(lambda: time_grid(delta, T, steps), names))
    if times is None:
        return
    A = population_localized_score(target, r, times)
    with np.errstate(all="ignore"):
        A = A + noise * 1e-2 * np.eye(target.dim)
    if bad == "shape":
        A = A[:-1]
    elif bad == "nan":
        A = A * np.nan
    bound = _seen("girsanov_bound", check(lambda: girsanov_bound(A, target, times, nodes), names))
    floor = _seen("discretization_floor", check(lambda: discretization_floor(target, times), names))
    lkl = _seen("localization_kl", check(lambda: localization_kl(target, [r], times), names))
    if floor is not None:
        assert floor >= -1e-12
        if lkl is not None:
            assert np.all(lkl >= -1e-12)
        if lkl is not None and (r is None or r >= target.lattice.diameter):
            # the same law, with P_t by inversion or by the spectral formula
            assert math.isclose(lkl[0], floor, rel_tol=1e-9 + 1e-16 * target.kappa,
                                abs_tol=1e-15)
    if bound is None:
        return
    assert bound >= -1e-9
    Sigma = _seen("reverse_covariance", check(lambda: reverse_covariance(A, times), names))
    # compare where nodes-point Gauss-Legendre resolves the ~1/t integrand on every step
    if Sigma is None or nodes < 8 or np.max(times[1:] / times[:-1]) > 4 or \
            np.max(np.diff(times)) > 2:
        return
    event("girsanov_bound: compared with the exact KL")
    C0 = noised_covariance(target, times[:1])[0]
    kl = float(gaussian_kl(C0, Sigma))
    assert kl <= bound * (1 + 1e-6) + 1e-9, (kl, bound)   # Girsanov holds exactly


# ----------------------------------------------------------------- closed forms
@given(n=mostly(st.lists(st.integers(1, 10**6), min_size=1, max_size=3),
               st.one_of(reals(-5, 1e6), st.lists(counts(10**6), min_size=1, max_size=3))),
       c=num(0.01, 10), B0=num(1e-3, 100), V1=num(1e-3, 100), beta=num(0.1, 5),
       m=num(0.1, 5), D=cnt(1, 3), eps=num(1e-6, 1), sites=cnt(1, 10_000))
def test_localized_closed_forms(n, c, B0, V1, beta, m, D, eps, sites):
    from lowdim.theory.localized import nonparametric_radius, parametric_radius, sample_complexity

    names = ("n", "c", "B0", "V1", "beta", "m", "lattice_dim", "eps", "sites")
    r = _seen("parametric_radius", check(lambda: parametric_radius(n, c, B0, V1), names))
    if r is not None:
        assert np.shape(r) == np.shape(n) and np.all(r >= 0)
    r = _seen("nonparametric_radius", check(lambda: nonparametric_radius(n, c, beta, m, D), names))
    if r is not None:
        assert np.shape(r) == np.shape(n) and np.all(r >= 0)
    out = _seen("sample_complexity", check(lambda: sample_complexity(eps, sites, c, B0, V1), names))
    if out is not None:
        r, n_eps = out
        assert r >= 0 and n_eps > 0
