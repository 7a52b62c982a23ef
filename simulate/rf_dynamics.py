"""Training-time dynamics of the random-features score, simulated exactly at finite size.

One seed is drawn and accumulated as for the ridge (:mod:`lowdim.simulate.rf`, same streams):
``U = F^T F/(n m)``, ``V = F^T Xi/(sqrt(Delta) n m)``.  Gradient flow on the ridge-regularised
DSM loss from ``A(0) = 0``, in the time of ``dA/dtau = -(d p/(2 Delta)) grad_A L``, is

    Z(tau) = g_tau(U) V,   g_tau(u) = (1 - exp(-(u + lam) tau)) / (u + lam),   A/sqrt(p) = -Z^T,

and ``k`` steps of full-batch gradient descent with step ``c`` (in the same units) replace
``exp(-(u + lam) tau)`` by ``(1 - c (u + lam))^k`` [derived].  With ``U = Q diag(u) Q^T``
(one eigendecomposition per seed), ``Vt = Q^T V`` and ``w_i = ||Vt_i||^2``, every time at once:

    L_train(tau) = ||Xi||^2/(d n m) - (2 Delta/d) sum_i g_i w_i + (Delta/d) sum_i u_i g_i^2 w_i,
    L_train_reg(tau) = L_train(tau) + (Delta lam/d) sum_i g_i^2 w_i,

exact [derived].  Test and score errors are Monte Carlo averages over the same fresh test
samples as the ridge simulation: with ``Psi = sigma(y W^T/sqrt d) Q`` on a batch,
``s(y) = -Psi diag(g) Vt``, so the batch mean of ``||s||^2`` is ``g^T (Psi^T Psi o Vt Vt^T) g``
over the batch size and that of ``s . xi`` is ``-g^T c`` with ``c_i = sum_a Psi_ai (Vt_i . xi_a)``:
one pass over the test samples serves every time.  Their Monte Carlo standard error is that of
the means of ``TEST_UNIT``-sample batches.  At ``tau = inf`` (or ``k = inf``) ``g = 1/(u + lam)``
(the pseudo-inverse on the null space when ``lam = 0``): the ridge minimiser of
:func:`lowdim.simulate.rf.fit_seed`.

Conversions [derived]: plain gradient descent ``A <- A - eta grad_A L_reg`` on the package's
loss is the step ``c = 2 Delta eta / (d p)`` here; Bonnaire et al.'s time ``tau_B`` (BUBM25,
``exp(-2 Delta U tau_B / psi_p)`` at ``lam = 0``) is ``tau = 2 Delta tau_B / psi_p``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from lowdim.theory.rf import RFSetting
from lowdim.theory.tidy import Tidy, TidyData

from .activations import activation_in_place
from .linalg import matmul
from .rf import (MEASURED, TEST_UNIT, RFSize, SeedProblem, _accumulate, _Clock,
                 _test_draws)

__all__ = ["DynamicsResult", "fit_dynamics", "gradient_descent", "spectrum",
           "time_factor", "MAX_STABLE_STEP"]

#: ``c (u_max + lam)`` must stay below this for gradient descent to converge (2 is the edge)
MAX_STABLE_STEP = 2.0


@dataclass
class DynamicsResult(Tidy):
    """What one seed measures along training (:func:`fit_dynamics`).

    ``times`` are gradient-flow times ``tau`` (``gd_step`` None) or gradient-descent step
    counts ``k`` (``gd_step`` the step ``c``); ``inf`` is the ridge minimiser.
    ``values[q]`` and ``mc_se[q]`` are arrays over ``times`` for every quantity of
    :data:`lowdim.simulate.rf.MEASURED` the data model has; ``eigenvalues`` the spectrum of
    ``U`` (ascending); ``n, p, m, D`` the sizes; ``seconds`` and ``timings`` (by step) the cost.
    ``to_pandas()`` gives one row per (quantity, time); ``to_xarray()`` the same over
    ``quantity`` and ``time``, with the eigenvalues over ``eigenvalue`` (in ``df.attrs`` for
    the DataFrame).
    """

    seed: int
    n: int
    p: int
    m: int
    D: int
    times: np.ndarray
    gd_step: float | None
    values: dict
    mc_se: dict
    eigenvalues: np.ndarray
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    def _tidy(self):
        qs = list(self.values)
        qt = ("quantity", "time")
        attrs = {"n": self.n, "p": self.p, "m": self.m, "D": self.D,
                 "dynamics": "gradient flow" if self.gd_step is None else "gradient descent",
                 "seconds": float(self.seconds),
                 **{f"seconds_{k}": float(v) for k, v in self.timings.items()}}
        if self.gd_step is not None:
            attrs["gd_step"] = float(self.gd_step)
        return TidyData({"quantity": np.array(qs, dtype=object), "time": self.times,
                         "eigenvalue": None},
                        {"value": (qt, np.array([self.values[k] for k in qs], dtype=float)),
                         "mc_se": (qt, np.array([self.mc_se[k] for k in qs], dtype=float)),
                         "eigenvalues": (("eigenvalue",), np.ravel(self.eigenvalues))},
                        {"seed": int(self.seed)}, attrs, table=("quantity", "time"))


def time_factor(u, lam: float, times, gd_step: float | None = None) -> np.ndarray:
    """``g(u)`` of every time, shape ``(len(u), len(times))``: gradient flow
    ``(1 - e^{-(u+lam) tau}) / (u + lam)``, or ``k`` steps of gradient descent with step ``c``,
    ``(1 - (1 - c (u+lam))^k) / (u + lam)``; limits ``tau`` and ``c k`` at ``u + lam = 0``, and
    ``1/(u + lam)`` at infinite time (0 on the null space when ``lam = 0``) [derived]."""
    x = np.asarray(u, dtype=np.float64)[:, None] + lam
    times = np.asarray(times, dtype=np.float64)[None, :]
    tiny = np.abs(x) <= 1e-12 * max(1.0, float(np.max(np.abs(x))))
    xs = np.where(tiny, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if gd_step is None:
            decay = np.expm1(-xs * np.where(np.isinf(times), 0.0, times))
            limit = times
        else:
            k = np.where(np.isinf(times), 0.0, times)
            base = 1.0 - gd_step * xs
            # (1 - c x)^k - 1 without cancellation where the base is positive
            safe = np.log1p(-gd_step * np.minimum(xs, 1.0 / gd_step))
            decay = np.where(base > 0, np.expm1(k * safe), base ** k - 1.0)
            limit = gd_step * times
        g = -decay / xs
        g = np.where(tiny, limit, g)
        g = np.where(np.isinf(times), np.where(tiny, 0.0, 1.0 / xs), g)
    return g


def _check_times(times, gd_step):
    arr = np.atleast_1d(np.asarray(times, dtype=np.float64))
    name = "tau" if gd_step is None else "steps"
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: give at least one time (got {times!r})")
    if np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: every time must be >= 0 (inf allowed; got {times!r})")
    if gd_step is not None:
        finite = arr[np.isfinite(arr)]
        if np.any(finite != np.round(finite)):
            raise ValueError(f"steps: gradient-descent step counts must be whole (got {times!r})")
        if not (isinstance(gd_step, (int, float)) and math.isfinite(gd_step) and gd_step > 0):
            raise ValueError(f"gd-step: must be a finite number > 0 (got {gd_step!r})")
    return arr


def _check_stable(u, lam, gd_step):
    if gd_step is not None:
        top = float(np.max(u)) + lam
        if gd_step * top >= MAX_STABLE_STEP:
            raise ValueError(
                f"gd-step: c (u_max + lam) = {gd_step * top:.3g} >= 2, gradient descent "
                f"diverges; take gd-step < {MAX_STABLE_STEP / top:.4g} (u_max = {top - lam:.4g})")


def spectrum(setting: RFSetting, size: RFSize, seed: int, *, device=None) -> np.ndarray:
    """The eigenvalues of ``U = F^T F/(n m)`` of one seed (ascending, float64)."""
    prob = SeedProblem.of(setting, size, seed, device=device)
    act = activation_in_place(setting.activation)
    W, _, X = prob.inputs()
    WT = (W.T * (1.0 / math.sqrt(prob.d))).contiguous()
    G, _, _ = _accumulate(prob, act, WT, X)
    return _eigh(G, prob)[0].cpu().numpy()


def _eigh(G, prob):
    """``(u, Q)`` of ``U = G/(n m)`` from the upper triangle ``gram_update`` fills."""
    U = torch.triu(G.double()) / (prob.n * prob.m)
    U = U + torch.triu(U, 1).T
    return torch.linalg.eigh(U)


def fit_dynamics(setting: RFSetting, size: RFSize, seed: int, times, *,
                 gd_step: float | None = None, device=None) -> DynamicsResult:
    """Simulate one seed along training: the errors at every time of ``times`` under gradient
    flow (``gd_step`` None: ``times`` are ``tau``) or gradient descent with step ``gd_step``
    (``times`` are step counts), from one eigendecomposition of ``U`` (module docstring)."""
    t_start = time.perf_counter()
    times = _check_times(times, gd_step)
    prob = SeedProblem.of(setting, size, seed, device=device)
    if size.n_test < 2 * TEST_UNIT:
        raise ValueError(f"n_test: the batch-means standard error needs n_test >= "
                         f"{2 * TEST_UNIT} (got {size.n_test})")
    steps: dict = {}
    clock = _Clock(prob.device, steps)
    act = activation_in_place(setting.activation)
    lam, d, delta = float(setting.lam), prob.d, prob.delta
    with clock("draw"):
        W, data, X = prob.inputs()
        WT = (W.T * (1.0 / math.sqrt(d))).contiguous()
    with clock("features_gram"):
        G, V, xi_sq = _accumulate(prob, act, WT, X)
    with clock("eigh"):
        u, Q = _eigh(G, prob)
        del G
        Vt = Q.T @ V.double()
        u_np = u.cpu().numpy()
        _check_stable(u_np, lam, gd_step)
        g = torch.as_tensor(time_factor(u_np, lam, times, gd_step), device=prob.device)
    with clock("train_error"):
        w = (Vt * Vt).sum(1)
        nm = prob.n * prob.m
        train = (xi_sq / (d * nm) - 2.0 * delta / d * (g * w[:, None]).sum(0)
                 + delta / d * (u[:, None] * g * g * w[:, None]).sum(0))
        penalty = delta * lam / d * (g * g * w[:, None]).sum(0)
    values = {"train_error": train.cpu().numpy(), "train_error_reg": (train + penalty).cpu().numpy()}
    mc = {q: np.zeros(len(times)) for q in values}
    with clock("test_error"):
        batches = _test_batch_means(prob, act, data, WT, Q, Vt, g)
        for q, means in batches.items():
            k = means.shape[0]
            values[q] = means.mean(0)
            mc[q] = means.std(0, ddof=1) / math.sqrt(k)
    with clock("exact_score"):
        c_t, c_se = data.exact_score_test_error(float(setting.t), prob.generator("C_t"))
        values["exact_score_test_error"] = np.full(len(times), c_t)
        mc["exact_score_test_error"] = np.full(len(times), c_se)
        if "score_error" not in values:
            # no exact score (hidden manifold): E||s - grad log p_t||^2 / d = (test - C_t) / Delta
            values["score_error"] = (values["test_error"] - c_t) / delta
            mc["score_error"] = np.hypot(mc["test_error"], c_se) / delta
    order = [q for q in MEASURED + ("exact_score_test_error",) if q in values]
    return DynamicsResult(seed=int(seed), n=prob.n, p=prob.p, m=prob.m, D=data.D, times=times,
                          gd_step=gd_step, values={q: values[q] for q in order},
                          mc_se={q: mc[q] for q in order}, eigenvalues=u_np,
                          seconds=time.perf_counter() - t_start, timings=steps)


def _test_batch_means(prob, act, data, WT, Q, Vt, g) -> dict:
    """Per ``TEST_UNIT`` batch, the mean test (score, on/off-manifold) loss at every time:
    arrays ``(batches, times)``."""
    t, d, delta = float(prob.setting.t), prob.d, prob.delta
    sq_delta = math.sqrt(delta)
    score_sq_mean = data.score_sq_mean(t)
    basis = data.par_basis
    K = Vt @ Vt.T
    if basis is not None:
        Vb = Vt @ basis.double()
        K_par = Vb @ Vb.T
    out: dict = {"test_error": [], "score_error": [], "test_error_par": [], "test_error_perp": []}
    has_score = True

    def quad(M):           # g^T M g at every time
        return ((M @ g) * g).sum(0)

    for xi, y in _test_draws(prob, data, TEST_UNIT):
        nb = len(xi)
        Psi = matmul(act(matmul(y, WT)), Q.to(y.dtype)).double()
        T = Psi.T @ Psi / nb
        xi64 = xi.double()
        # ||sqrt(D) s + xi||^2 / d with ||xi||^2/d replaced by its mean 1 (control variate)
        ss = quad(T * K)
        cross = -(((Psi * (xi64 @ Vt.T)).sum(0) / nb) @ g)
        lt = (delta * ss + 2.0 * sq_delta * cross) / d + 1.0
        out["test_error"].append(lt)
        score_true = data.score(y, t)
        if score_true is None:
            has_score = False
        else:
            sc = score_true.double()
            s_dot = -(((Psi * (sc @ Vt.T)).sum(0) / nb) @ g)
            sq = (score_sq_mean if score_sq_mean is not None
                  else float((sc * sc).sum()) / (nb * d))
            out["score_error"].append((ss - 2.0 * s_dot) / d + sq)
        if basis is not None:
            xb = xi64 @ basis.double()
            sp = quad(T * K_par)
            cross_p = -(((Psi * (xb @ Vb.T)).sum(0) / nb) @ g)
            lp = (delta * sp + 2.0 * sq_delta * cross_p) / d + data.D / d
            out["test_error_par"].append(lp)
            out["test_error_perp"].append(lt - lp)
    if not has_score:
        del out["score_error"]
    return {q: torch.stack(v).cpu().numpy() for q, v in out.items() if v}


def gradient_descent(setting: RFSetting, size: RFSize, seed: int, gd_step: float, steps, *,
                     device=None) -> dict:
    """Explicit full-batch gradient descent ``Z <- Z + c (V - (U + lam) Z)`` from ``Z = 0``,
    with the gradient formed from the features of every noise block at every step (no
    eigendecomposition: an independent check of :func:`time_factor`); the exact train errors
    ``{"steps", "train_error", "train_error_reg"}`` after each count in ``steps``."""
    steps = _check_times(steps, gd_step)
    if np.any(np.isinf(steps)):
        raise ValueError("steps: explicit gradient descent needs finite step counts")
    prob = SeedProblem.of(setting, size, seed, device=device)
    act = activation_in_place(setting.activation)
    lam, d, delta, nm = float(setting.lam), prob.d, prob.delta, prob.n * prob.m
    sq_delta = math.sqrt(delta)
    W, _, X = prob.inputs()
    WT = (W.T * (1.0 / math.sqrt(d))).contiguous()
    aX = prob.a_t * X
    feats = []
    for js in prob.noise_blocks():
        Xi = prob.noise(js)
        feats.append((act(matmul(aX.repeat(len(js), 1) + sq_delta * Xi, WT)), Xi))
    Z = torch.zeros(prob.p, d, dtype=prob.dtype, device=prob.device)
    out = {"steps": [], "train_error": [], "train_error_reg": []}
    wanted = sorted(int(k) for k in steps)
    k = 0
    for target in wanted:
        while k < target:
            grad = lam * Z
            for F, Xi in feats:
                grad += F.T @ (F @ Z - Xi / sq_delta) / nm
            Z = Z - gd_step * grad
            k += 1
        res = sum(float(((Xi - sq_delta * (F @ Z)) ** 2).sum()) for F, Xi in feats)
        train = res / (d * nm)
        out["steps"].append(target)
        out["train_error"].append(train)
        out["train_error_reg"].append(train + delta * lam / d * float((Z * Z).sum()))
    return {key: np.asarray(v) for key, v in out.items()}
