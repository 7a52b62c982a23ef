"""Every wrong kind of input to the public theory API is refused by name.

The rule (``theory/_checks.py``): a wrong *kind* (a complex number, a date, bytes, a string
where a number is expected, an object array, an arbitrary object, ``None`` where a number is
needed, a torch tensor that requires grad) raises ``ParameterTypeError``, a ``TypeError`` that
is also a ``ValueError``; a wrong *value* (an integer too large to hold) a ``ValueError``.
Both messages start with the parameter's name and a colon.  A CPU tensor that does not
require grad is read as the numbers it holds.

One regression test per finding of the input audit:

1. complex numbers (and dates, bytes, numeric strings, object arrays, objects) were
   truncated or parsed instead of refused;
2. a tensor with ``requires_grad=True`` gave a bare RuntimeError;
3. integers like ``10**400`` gave OverflowError, ``np.int64(2**63 - 1)`` steps an IndexError;
4. arrays where a scalar is expected gave bare TypeErrors ("truth value ... ambiguous");
5. a line fitted through fewer than two distinct abscissae gave a RankWarning and a number.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from lowdim.theory._checks import ParameterTypeError


def _target():
    from lowdim.theory.localized import Lattice, banded_gaussian

    return banded_gaussian(Lattice((8,)), 1, 10.0)


def _rf_setting(**kw):
    from lowdim.theory.rf import RFSetting

    base = dict(psi_n=1.0, psi_p=2.0, t=0.1, lam=1e-3, m=1)
    return RFSetting(**{**base, **kw})


def _solve(**kw):
    from lowdim.theory.solvers import continuation_newton

    def fun(x, s, sel):  # x^2 = 1 + s in log x
        y = np.exp(2 * x[:, 0])
        return ((y - 1 - s)[:, None], (2 * y)[:, None, None], -np.ones((len(sel), 1)),
                (y + 1 + s)[:, None])

    return continuation_newton(fun, **{**dict(x0=np.zeros((2, 1)), n_points=2), **kw})


def _calls():
    """``(label, parameter, call)``: one numeric parameter of an entry point of each theory
    module, ``call(value)`` passing ``value`` there and valid values elsewhere."""
    from lowdim.theory import activations, processes, spectra
    from lowdim.theory import localized as loc
    from lowdim.theory import molrg, molrmog, rf, sampling

    return [
        ("rf.RFSetting", "psi_p", lambda v: _rf_setting(psi_p=v)),
        ("rf.RFSetting", "m", lambda v: _rf_setting(m=v)),
        ("rf.hidden_manifold_exact_score", "tol",
         lambda v: rf.hidden_manifold_exact_score(0.5, 0.5, "linear", tol=v)),
        ("sampling.edm_grid", "sigma_max", lambda v: sampling.edm_grid(5, 0.002, v)),
        ("sampling.steps_needed", "m2", lambda v: sampling.steps_needed(0.1, v, 2)),
        ("sampling.kl_bound", "score_error",
         lambda v: sampling.kl_bound(sampling.edm_grid(5), 2, 1.0, v)),
        ("sampling.GaussianMixture", "means",
         lambda v: sampling.GaussianMixture([1.0], [v], [1.0])),
        ("localized.time_grid", "delta", lambda v: loc.time_grid(v, 3.0, 5)),
        ("localized.banded_gaussian", "kappa", lambda v: loc.banded_gaussian(8, 1, v)),
        ("localized.noised_precision", "t", lambda v: loc.noised_precision(_target(), v)),
        ("localized.parametric_radius", "c", lambda v: loc.parametric_radius(10, v, 1.0, 1.0)),
        ("molrg.noise_boundary", "noise", lambda v: molrg.noise_boundary(2, 10, v, 0.1)),
        ("molrg.theorem_bound", "noise_fro", lambda v: molrg.theorem_bound(5, 2, v)),
        ("molrmog.process_coefficients", "t", lambda v: molrmog.process_coefficients(v)),
        ("molrmog.BoundSetting", "R", lambda v: molrmog.BoundSetting((2,), (3,), R=v)),
        ("spectra.point_mass", "location", lambda v: spectra.point_mass(v)),
        ("spectra.marchenko_pastur", "ratio", lambda v: spectra.marchenko_pastur(v)),
        ("activations.moments", "variance", lambda v: activations.moments("tanh", v)),
        ("processes.ou_coefficients", "t", lambda v: processes.ou_coefficients(v)),
        ("solvers.continuation_newton", "tol", lambda v: _solve(tol=v)),
    ]


CALLS = _calls()
IDS = [f"{label}:{name}" for label, name, _ in CALLS]

#: Not real numbers, each with the value it used to be read as (if any).
NOT_NUMBERS = {
    "complex": 1 + 5j, "numpy complex": np.complex128(0.5 + 0j), "datetime64":
    np.datetime64("2020-01-01"), "timedelta64": np.timedelta64(3, "D"), "bytes": b"1",
    "numeric string": "1", "object array": np.array([0.5], dtype=object),
    "object array with None": np.array([0.5, None], dtype=object), "object": object(),
}


def _refused_by_name(call, value, name, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning (truncation) fails the test
        with pytest.raises(kind) as info:
            call(value)
    assert str(info.value).startswith(f"{name}: "), str(info.value)
    if kind is ParameterTypeError:  # a wrong kind: a TypeError, and a ValueError
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    return info.value


# ----------------------------------------------------------------------------- 1
def test_the_kind_error_is_a_type_error_and_a_value_error():
    assert issubclass(ParameterTypeError, TypeError)
    assert issubclass(ParameterTypeError, ValueError)


@pytest.mark.parametrize("what", sorted(NOT_NUMBERS))
@pytest.mark.parametrize("label,name,call", CALLS, ids=IDS)
def test_values_that_are_not_numbers_are_refused_by_name(label, name, call, what):
    _refused_by_name(call, NOT_NUMBERS[what], name, ParameterTypeError)


@pytest.mark.parametrize("label,name,call", CALLS, ids=IDS)
def test_none_where_a_number_is_needed_is_a_kind_error(label, name, call):
    _refused_by_name(call, None, name, ParameterTypeError)


def test_a_complex_argument_is_not_truncated_to_its_real_part():
    from lowdim.theory.rf import RFSetting

    with pytest.raises(ParameterTypeError, match="^psi_p: .*complex"):
        RFSetting(psi_n=1.0, psi_p=1 + 5j)
    with pytest.raises(ParameterTypeError, match="^psi_p: .*complex"):
        RFSetting(psi_n=1.0, psi_p=[2.0, 1 + 5j])


def test_numbers_inside_user_functions_are_checked_too():
    from lowdim.theory.activations import moments
    from lowdim.theory.sampling import custom_schedule, kl_bound, make_grid

    with pytest.raises(ParameterTypeError, match="^activation: "):
        moments(lambda x: np.tanh(x) + 0j)
    with pytest.raises(ParameterTypeError, match="^schedule: "):
        custom_schedule(lambda t: complex(t, 1.0))
    with pytest.raises(ParameterTypeError, match="^score_error: "):
        kl_bound(make_grid("edm", 4), 2, 1.0, score_error=lambda s: np.full(s.shape, "1"))


# ----------------------------------------------------------------------------- 2
@pytest.mark.parametrize("label,name,call", CALLS, ids=IDS)
def test_a_tensor_that_requires_grad_is_refused_by_name(label, name, call):
    value = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    err = _refused_by_name(call, value, name, ParameterTypeError)
    assert "requires grad" in str(err)
    _refused_by_name(call, [value], name, ParameterTypeError)  # inside a list too


def test_a_plain_cpu_tensor_is_read_as_its_numbers():
    from lowdim.theory.localized import time_grid
    from lowdim.theory.processes import ou_coefficients
    from lowdim.theory.rf import predict
    from lowdim.theory.sampling import edm_grid

    t = np.array([0.1, 0.7])
    for a, b in zip(ou_coefficients(torch.tensor(t)), ou_coefficients(t)):
        assert np.array_equal(a, b)
    smin = torch.tensor(0.01, dtype=torch.float64)
    assert np.array_equal(edm_grid(torch.tensor(7), smin).sigmas, edm_grid(7, 0.01).sigmas)
    assert np.array_equal(time_grid(smin, 3.0, torch.tensor(5)),
                          time_grid(0.01, 3.0, 5))
    a = predict(_rf_setting(psi_p=torch.tensor([0.5, 4.0], dtype=torch.float64)))
    b = predict(_rf_setting(psi_p=np.array([0.5, 4.0])))
    assert np.array_equal(a.test_error, b.test_error)


# ----------------------------------------------------------------------------- 3
@pytest.mark.parametrize("label,name,call", CALLS, ids=IDS)
def test_an_integer_beyond_float64_is_a_named_value_error(label, name, call):
    err = _refused_by_name(call, 10**400, name, ValueError)
    assert not isinstance(err, ParameterTypeError)  # a number, of a wrong value


@pytest.mark.parametrize("build", ["edm_grid", "geometric_grid", "uniform_grid"])
def test_a_step_count_beyond_what_a_grid_can_hold_is_refused(build):
    from lowdim.theory import sampling

    for N in (np.int64(2**63 - 1), 2**63, 10**400):
        with pytest.raises(ValueError, match="^N: "):
            getattr(sampling, build)(N)


def test_big_integers_elsewhere_are_refused_by_name():
    from lowdim.theory.localized import Lattice, check_radius, nonparametric_radius
    from lowdim.theory.molrg import noise_boundary
    from lowdim.theory.sampling import kl_bound, make_grid

    cases = [(lambda: Lattice((10**400,)), "shape"), (lambda: Lattice((2**63,)), "shape"),
             (lambda: check_radius(10**400), "r"),
             (lambda: nonparametric_radius(10, 1.0, lattice_dim=10**400), "lattice_dim"),
             (lambda: noise_boundary(10**400, 10**401, 0.1, 0.1), "d"),
             (lambda: kl_bound(make_grid("edm", 4), np.int64(2**63 - 1), 1.0), "d")]
    for call, name in cases:
        with pytest.raises(ValueError, match=f"^{name}: "):
            call()


# ----------------------------------------------------------------------------- 4
def test_an_array_where_a_scalar_is_expected_is_refused_by_name():
    from lowdim.theory.localized import Lattice, error_curve, localization_radius
    from lowdim.theory.molrg import MoLRG
    from lowdim.theory.rf import sample_complexity
    from lowdim.theory.sampling import kl_bound, make_grid, score_error_factor, steps_needed

    setting = _rf_setting(psi_p=4.0, m=np.inf, activation="relu", data="linear-manifold",
                          psi_d=0.5)
    cases = [
        (lambda: steps_needed([0.1, 0.2], 1.0, 2), "eps"),
        (lambda: steps_needed(0.1, np.array([1.0, 2.0]), 2), "m2"),
        (lambda: steps_needed(0.1, 1.0, 2, design=np.array(["edm"])), "design"),
        (lambda: sample_complexity(setting, rtol=[1e-3, 1e-4]), "rtol"),
        (lambda: score_error_factor(10, C1=np.array([1.0, 2.0])), "C1"),
        (lambda: score_error_factor(10, C1="2"), "C1"),
        (lambda: Lattice(shape=16.0), "shape"),
        (lambda: Lattice((8,), periodic=np.array([True, False])), "periodic"),
        (lambda: make_grid(np.array(["edm", "geometric"]), 4), "kind"),
        (lambda: kl_bound(make_grid("edm", 4), 2, 1.0, form=np.array(["paper"])), "form"),
        (lambda: localization_radius(_target(), 0.5, eps=[1e-3]), "eps"),
        (lambda: error_curve(_target(), 10, [0, None], exact_kl=np.array([True])), "exact_kl"),
        (lambda: MoLRG(10, 2, 2, orthogonal=np.array([True, False])), "orthogonal"),
    ]
    for call, name in cases:
        with pytest.raises(ParameterTypeError, match=f"^{name}: "):
            call()
    # one number where a pair is expected: a named ValueError, no longer a bare TypeError
    with pytest.raises(ValueError, match="^psi_n_range: "):
        sample_complexity(setting, psi_n_range=5.0)


# ----------------------------------------------------------------------------- 5
def test_a_line_needs_two_distinct_abscissae():
    from lowdim.theory._checks import distinct_points

    with pytest.raises(ValueError, match="^radii: .*2 distinct"):
        distinct_points("radii", [1.0, 1.0, 1.0])
    assert np.array_equal(distinct_points("radii", [0, 2]), [0.0, 2.0])


def test_the_radius_models_are_never_fitted_through_one_radius():
    from lowdim.theory.localized import error_curve

    target = _target()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RankWarning (degenerate fit) fails the test
        curve = error_curve(target, [10, 100], [1, 1, None], steps=8)
    assert all(math.isnan(curve.fit[k]) for k in ("c", "B0", "V0", "V1"))
    assert np.all(np.isnan(curve.closed_form))
    assert "two distinct finite radii" in curve.message
    # two distinct radii do give a fit
    fitted = error_curve(target, [10, 100], [0, 1, 1, None], steps=8)
    assert all(math.isfinite(fitted.fit[k]) for k in ("c", "B0", "V0", "V1"))
