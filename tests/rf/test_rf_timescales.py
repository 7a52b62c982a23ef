"""Generalization and memorization times (lowdim.theory.rf._timescales): the definitions
against the test curve they are read from, early stopping, the growth of tau_mem with psi_n at
m = inf, gradient descent, and bad input."""
import math
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowdim.compare.rf_dynamics import early_stopping
from lowdim.theory.rf import (GEN_FRACTION, MEM_FRACTION, RFSetting, TimeScales,
                              generalization_curve, predict, spectrum, time_scales,
                              times_from_curve)
from lowdim.theory.rf._timescales import _bulk_mean, _crossing


def setting(**kw):
    return RFSetting(**{"psi_n": 2.0, "psi_p": 4.0, "t": 0.1, "lam": 1e-4, "m": math.inf,
                        "activation": "tanh", **kw})


@lru_cache(maxsize=None)
def scales(**kw):
    return time_scales(setting(**kw))


def test_definitions_hold_on_the_test_curve():
    """tau_gen < tau* < tau_mem, and the test error at tau_gen and tau_mem is the level that
    defines them: 10 % of the drop and half of the rise above the minimum."""
    ts = scales()
    assert isinstance(ts, TimeScales)
    assert 0.0 < ts.tau_gen < ts.tau_star < ts.tau_mem < math.inf
    assert ts.window == pytest.approx(ts.tau_mem / ts.tau_gen)
    assert ts.gain == pytest.approx(ts.test_converged - ts.test_at_tau_star) and ts.gain > 0
    curve = generalization_curve(setting(), [ts.tau_gen, ts.tau_star, ts.tau_mem, math.inf])
    at_gen, at_star, at_mem, converged = curve["test_error"]
    low = ts.test_at_tau_star
    assert converged == pytest.approx(ts.test_converged, abs=1e-10)
    assert converged == pytest.approx(float(np.ravel(predict(setting()).test_error)[0]),
                                      abs=1e-9)
    assert at_star == pytest.approx(low, abs=1e-4 * ts.gain)
    # the crossings are linear in log tau between grid points: levels within 0.1 % of the
    # excursion they are a fraction of
    assert at_gen - low == pytest.approx(0.1 * (1.0 - low), abs=1e-3 * (1.0 - low))
    assert at_mem - low == pytest.approx(0.5 * ts.gain, abs=1e-3 * ts.gain)


def test_agrees_with_early_stopping():
    """tau*, the minimum and the gain are those of compare.rf_dynamics.early_stopping (a
    fixed grid there, one fitted to the spectrum here)."""
    ts, es = scales(), early_stopping(setting())
    assert ts.tau_star == pytest.approx(es["time"], rel=0.02)
    assert ts.test_at_tau_star == pytest.approx(es["test_error"], abs=1e-4)
    assert ts.gain == pytest.approx(es["gain"], abs=1e-4)


def test_memorization_time_grows_with_psi_n_at_m_inf():
    """m = inf, psi_n < psi_p (BUBM25's regime): tau_mem and the window grow with psi_n, and
    so does the spectral memorization time (slowly here: at psi_p = 4 the bulk below the top
    is the merged low bulk); tau_gen and its spectral value barely move (the top bulk's mean
    is mu1^2 psi_p + O(1) whatever psi_n)."""
    small, large = scales(psi_n=1.0), scales(psi_n=2.0)
    assert large.tau_mem > 1.3 * small.tau_mem
    assert large.window > 1.3 * small.window
    assert large.tau_mem_spectral > small.tau_mem_spectral
    assert large.tau_gen == pytest.approx(small.tau_gen, rel=0.15)
    assert large.tau_gen_spectral == pytest.approx(small.tau_gen_spectral, rel=0.02)


def test_spectral_times_come_from_the_bulks():
    """The top bulk is the generalization bulk, the one below it the memorization bulk; the
    spectral times are 1/(bulk mean + lam) and 1/(lower edge + lam)."""
    ts = scales()
    sp = spectrum(setting())
    assert ts.generalization_bulk == pytest.approx(sp.bulks[-1])
    assert ts.memorization_bulk == pytest.approx(sp.bulks[-2])
    mean = 1.0 / ts.tau_gen_spectral - 1e-4
    assert ts.generalization_bulk[0] < mean < ts.generalization_bulk[1]
    assert ts.tau_mem_spectral == pytest.approx(1.0 / (ts.memorization_bulk[0] + 1e-4))
    assert ts.tau_gen_spectral < ts.tau_star < ts.tau_mem_spectral


def test_ridge_caps_memorization():
    """A larger lam makes memorization earlier and smaller: tau_mem, the window and the gain
    shrink, tau_gen does not move, and tau_mem stays within a few 1/lam."""
    small, large = scales(), scales(lam=0.1)
    assert large.tau_mem < 0.5 * small.tau_mem and large.tau_mem < 10.0 / 0.1
    assert large.window < 0.5 * small.window
    assert 0.0 < large.gain < 0.5 * small.gain
    assert large.tau_gen == pytest.approx(small.tau_gen, rel=0.1)


def test_finite_m_and_no_memorization():
    """m = 4: the same ordering and levels; a ridge large enough that the test error only
    falls (psi_n = 16 > psi_p = 4, lam = 1): no tau*, no tau_mem, no gain."""
    ts = scales(m=4)
    assert 0.0 < ts.tau_gen < ts.tau_star < ts.tau_mem < math.inf and ts.gain > 0
    at_gen, at_mem = generalization_curve(setting(m=4), [ts.tau_gen, ts.tau_mem])["test_error"]
    low = ts.test_at_tau_star
    assert at_gen - low == pytest.approx(0.1 * (1.0 - low), abs=1e-3 * (1.0 - low))
    assert at_mem - low == pytest.approx(0.5 * ts.gain, abs=1e-3 * ts.gain)
    flat = time_scales(setting(psi_n=16.0, lam=1.0))
    assert flat.tau_star == math.inf and flat.tau_mem == math.inf and flat.window == math.inf
    assert flat.gain == 0.0 and flat.test_at_tau_star == flat.test_converged
    assert 0.0 < flat.tau_gen < math.inf


def test_gradient_descent_counts_steps():
    """A small step reproduces gradient flow with times in steps: k = tau / c."""
    c = 0.02
    ts = time_scales(setting(), gd_step=c)
    flow = scales()
    assert ts.gd_step == c
    assert c * ts.tau_gen == pytest.approx(flow.tau_gen, rel=0.05)
    assert c * ts.tau_mem == pytest.approx(flow.tau_mem, rel=0.05)
    assert c * ts.tau_star == pytest.approx(flow.tau_star, rel=0.1)
    assert ts.gain == pytest.approx(flow.gain, rel=1e-2)


def test_crossing_and_bulk_mean_helpers():
    """Crossings are linear in log time; the bulk mean of a semicircle is its centre."""
    times = np.array([1.0, 10.0, 100.0])
    assert _crossing(times, [1.0, 0.5, 0.0], 0.25, 0, upward=False) == pytest.approx(10**1.5)
    assert _crossing(times, [0.0, 0.5, 1.0], 0.75, 0, upward=True) == pytest.approx(10**1.5)
    assert _crossing(times, [0.0, 0.5, 1.0], 2.0, 0, upward=True) == math.inf

    class Semicircle:
        theta = np.arange(1, 64) * np.pi / 64
        x = 3.0 - np.cos(theta)
        density = np.sqrt(1.0 - (x - 3.0) ** 2)

    assert _bulk_mean(Semicircle, 2.0, 4.0) == pytest.approx(3.0, abs=1e-12)


def test_manifold_data_have_their_times_too():
    from lowdim.theory.rf import predict

    s = setting(data="linear-manifold", psi_d=0.5)
    ts = time_scales(s)
    assert ts.test_converged == pytest.approx(float(predict(s).test_error), abs=1e-8)
    assert ts.tau_gen < ts.tau_star < ts.tau_mem and ts.gain > 0


def test_bad_input():
    with pytest.raises(ValueError, match="setting: give one grid point"):
        time_scales(setting(psi_n=[1.0, 2.0]))
    with pytest.raises(TypeError, match="setting"):
        time_scales({"psi_n": 2.0})
    with pytest.raises(ValueError, match="gd_step"):
        time_scales(setting(), gd_step=-0.1)
    with pytest.raises(ValueError, match="gd_step"):
        time_scales(setting(), gd_step=10.0)


# ---------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(drop=st.floats(0.05, 0.9), rise=st.floats(0.0, 3.0), fast=st.floats(-2.0, 0.0),
       slow=st.floats(1.0, 4.0))
def test_times_read_off_any_fall_and_rise(drop, rise, fast, slow):
    """A test curve that falls by ``drop`` on the time scale 10^fast and rises by ``rise`` on
    10^slow: the times are ordered, the gain is the rise above the minimum, and the curve
    crosses the defining levels at tau_gen and tau_mem."""
    times = np.geomspace(1e-4, 1e7, 400)
    curve = (1.0 - drop * (1.0 - np.exp(-times / 10.0**fast))
             + rise * (1.0 - np.exp(-times / 10.0**slow)))
    converged = 1.0 - drop + rise
    read = times_from_curve(times, curve, start=1.0, converged=converged)
    low = read["test_at_tau_star"]
    assert read["gain"] >= 0.0
    assert read["tau_gen"] <= read["tau_star"] <= read["tau_mem"]
    level_gen = low + (1.0 - GEN_FRACTION) * (1.0 - low)
    assert np.interp(np.log(read["tau_gen"]), np.log(times), curve) == pytest.approx(
        level_gen, abs=1e-3)
    if math.isfinite(read["tau_mem"]):
        assert read["gain"] == pytest.approx(converged - low, abs=1e-9)
        level_mem = low + MEM_FRACTION * read["gain"]
        assert np.interp(np.log(read["tau_mem"]), np.log(times), curve) == pytest.approx(
            level_mem, abs=1e-3 * max(1.0, read["gain"]))
    else:
        assert read["gain"] == 0.0 and read["tau_star"] == math.inf


@settings(max_examples=4, deadline=None)
@given(psi_n=st.floats(1.0, 4.0), ratio=st.floats(2.0, 6.0), m=st.sampled_from([1.0, 4.0]))
def test_time_scales_of_any_setting_are_ordered(psi_n, ratio, m):
    """For settings above interpolation: a TimeScales whose converged test error is the ridge
    one, with tau_gen < tau* <= tau_mem and a gain >= 0."""
    s = setting(psi_n=psi_n, psi_p=ratio * psi_n * m, m=m, lam=1e-3)
    ts = time_scales(s)
    assert isinstance(ts, TimeScales)
    assert ts.test_converged == pytest.approx(float(predict(s).test_error), abs=1e-8)
    assert ts.gain >= 0.0 and ts.tau_gen < ts.tau_star <= ts.tau_mem
