"""Data distributions for the random-features simulations, with exact scores where known.

Every model is drawn once per seed (the frozen manifold matrix ``M`` is shared by the
training and the test samples of that seed).  A model provides

* ``sample(n, generator, dtype, device)``: ``n x d`` data points;
* ``score(y, t)``: the exact score of the OU-noised law, or ``None`` when unknown
  (hidden manifold);
* ``score_sq_mean(t)``: ``E ||grad log p_t(y)||^2 / d`` (an exact control variate);
* ``exact_score_test_error(t, generator)``: ``(C_t, standard error)`` of this finite
  instance: exact (standard error 0) for the Gaussian models, a GAMP estimate for the
  hidden manifold (:func:`lowdim.simulate.glm_amp.instance_exact_score_constant`);
* ``par_basis``: a ``d x D`` orthonormal basis of the manifold's span (``None`` for
  isotropic data), used to split the test error into on/off-manifold parts.

Nothing here imports the theory's numerics: the simulation checks the theory, it does not
share code with it (the package's one-way dependency rule).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .activations import torch_activation
from .glm_amp import instance_exact_score_constant

__all__ = ["IsotropicGaussian", "Subspace", "LinearManifold", "HiddenManifold", "DataRows",
           "make_data",
           "ou_forward", "intrinsic_dimension"]


def ou_forward(t: float) -> tuple[float, float]:
    """``(a_t, Delta_t) = (e^{-t}, 1 - e^{-2t})`` of the OU process ``dX = -X dt + sqrt(2) dB``."""
    return math.exp(-t), -math.expm1(-2.0 * t)


def intrinsic_dimension(psi_d: float, d: int) -> int:
    """``D = round(psi_d d)``, at least 1."""
    D = int(round(float(psi_d) * d))
    if D < 1:
        raise ValueError(f"d: psi_d * d = {float(psi_d) * d:g} gives no intrinsic dimension")
    return min(D, d)


class IsotropicGaussian:
    """``x_0 ~ N(0, I_d)``: ``p_t = N(0, I_d)``, score ``-y``, ``C_t = e^{-2t}``."""

    name = "gaussian"
    par_basis = None

    def __init__(self, d: int):
        self.d = int(d)
        self.D = self.d

    def sample(self, n, generator, dtype, device):
        return torch.randn(n, self.d, generator=generator, dtype=dtype, device=device)

    def score(self, y, t):
        return -y

    def score_sq_mean(self, t):
        return 1.0

    def exact_score_test_error(self, t, generator=None):
        return math.exp(-2.0 * t), 0.0


class Subspace:
    """``x_0 ~ N(0, Pi)`` with ``Pi`` the projector on the first D coordinates.

    Random features with an isotropic Gaussian ``W`` cannot tell one D-dimensional
    subspace from another, so the coordinate subspace loses no generality.  With
    ``y = (y_par, y_perp)``: score ``-(y_par + y_perp / Delta)``, and
    ``C_t = (D/d) e^{-2t}``.
    """

    name = "subspace"

    def __init__(self, d: int, D: int, device, dtype):
        self.d, self.D = int(d), int(D)
        eye = torch.eye(self.d, self.D, dtype=dtype, device=device)
        self.par_basis = eye

    def sample(self, n, generator, dtype, device):
        z = torch.randn(n, self.D, generator=generator, dtype=dtype, device=device)
        return torch.cat([z, torch.zeros(n, self.d - self.D, dtype=dtype, device=device)], 1)

    def score(self, y, t):
        _, delta = ou_forward(t)
        out = -y / delta
        out[:, : self.D] = -y[:, : self.D]
        return out

    def score_sq_mean(self, t):
        _, delta = ou_forward(t)
        return (self.D + (self.d - self.D) / delta) / self.d

    def exact_score_test_error(self, t, generator=None):
        return self.D / self.d * math.exp(-2.0 * t), 0.0


def resampled_eigenvalues(eigenvalues, d: int) -> np.ndarray:
    """``d`` eigenvalues with the law of ``eigenvalues`` (ascending): the given ones when
    there are ``d``, else their quantiles at ``(i + 1/2)/d`` (a d-point discretisation
    that converges to the law as d grows)."""
    eig = np.sort(np.asarray(eigenvalues, dtype=float))
    if eig.size == d:
        return eig
    return eig[np.minimum(((np.arange(d) + 0.5) * eig.size / d).astype(int), eig.size - 1)]


class EmpiricalCovariance:
    """``x_0 ~ N(0, diag(lambda))`` with the eigenvalues ``lambda`` of a given covariance
    (resampled to d by :func:`resampled_eigenvalues`).

    Random features with an isotropic ``W`` cannot tell a covariance from its rotations,
    so the diagonal one loses no generality.  Score ``-y_i / (a^2 lambda_i + Delta)``,
    ``C_t = (1/d) sum_i a^2 lambda_i / (a^2 lambda_i + Delta)``; the directions with
    ``lambda_i = 0`` are off the data's span (the test error is split only when there are
    some).
    """

    name = "spectrum"

    def __init__(self, d: int, eigenvalues, device, dtype):
        self.eig = resampled_eigenvalues(eigenvalues, int(d))
        self.d = int(d)
        self.D = int(np.count_nonzero(self.eig))
        on = np.flatnonzero(self.eig > 0)
        basis = torch.zeros(self.d, self.D, dtype=dtype, device=device)
        basis[on, torch.arange(self.D)] = 1.0
        # the test error splits along the data's span only when some direction is off it
        self.par_basis = basis if self.D < self.d else None
        self._sd = torch.as_tensor(np.sqrt(self.eig), dtype=dtype, device=device)
        self._lam = torch.as_tensor(self.eig, dtype=dtype, device=device)

    def sample(self, n, generator, dtype, device):
        z = torch.randn(n, self.d, generator=generator, dtype=dtype, device=device)
        return z * self._sd.to(dtype)

    def score(self, y, t):
        a, delta = ou_forward(t)
        return -y / (a * a * self._lam.to(y.dtype) + delta)

    def score_sq_mean(self, t):
        a, delta = ou_forward(t)
        return float(np.mean(1.0 / (a * a * self.eig + delta)))

    def exact_score_test_error(self, t, generator=None):
        a, delta = ou_forward(t)
        return float(np.mean(a * a * self.eig / (a * a * self.eig + delta))), 0.0


class DataRows:
    """``x_0`` drawn from the rows of a data matrix instead of a model: the training inputs
    without replacement from ``train``, the test inputs with replacement from the held-out
    ``test`` rows.  There is no exact score, so the test and train errors are measured and
    the score error is not; nothing is split along a manifold.  The rows are used as given
    (centre and scale them first, e.g. with ``lowdim.theory.spectra.covariance_eigenvalues``'s
    convention: mean zero, mean eigenvalue one)."""

    name = "rows"
    par_basis = None

    def __init__(self, train, test, device, dtype):
        train = torch.as_tensor(np.asarray(train, dtype=float), dtype=dtype, device=device)
        test = torch.as_tensor(np.asarray(test, dtype=float), dtype=dtype, device=device)
        if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
            raise ValueError(f"rows: train and test must be (samples, d) matrices with the same d "
                             f"(got {tuple(train.shape)} and {tuple(test.shape)})")
        if len(train) < 1 or len(test) < 1:
            raise ValueError("rows: train and test need at least one row each")
        if not (bool(torch.isfinite(train).all()) and bool(torch.isfinite(test).all())):
            raise ValueError("rows: the data hold a NaN or an infinity")
        self.train, self.test = train, test
        self.d = self.D = int(train.shape[1])

    def sample(self, n, generator, dtype, device):
        if n > len(self.train):
            raise ValueError(f"psi_n: {n} training inputs asked of {len(self.train)} training rows")
        idx = torch.randperm(len(self.train), generator=generator, device=self.train.device)[:n]
        return self.train[idx]  # the rows keep the run's dtype (they are not draws)

    def sample_test(self, n, generator, dtype, device):
        idx = torch.randint(len(self.test), (n,), generator=generator, device=self.test.device)
        return self.test[idx]

    def score(self, y, t):
        return None

    def score_sq_mean(self, t):
        return None

    def exact_score_test_error(self, t, generator=None):
        return None


def _frozen_embedding(d, D, generator, dtype, device):
    """``B = M / sqrt(D)`` for a Gaussian ``d x D`` matrix M (drawn in float32, like every
    variate here) and an orthonormal basis of its column space."""
    M = torch.randn(d, D, generator=generator, dtype=torch.float32, device=device).to(dtype)
    B = M / math.sqrt(D)
    return B, torch.linalg.qr(B)[0]


class LinearManifold:
    """``x_0 = M z / sqrt(D)`` with ``z ~ N(0, I_D)`` and a frozen Gaussian ``d x D`` matrix M.

    ``Sigma = B B^T`` with ``B = M / sqrt(D)``; ``Sigma_t = a^2 Sigma + Delta I`` and, by
    Woodbury, ``Sigma_t^{-1} y = (y - a^2 B K B^T y) / Delta`` with
    ``K = (Delta I_D + a^2 B^T B)^{-1}``.  The exact score is ``-Sigma_t^{-1} y`` and
    ``C_t = (1/d) sum_k a^2 s_k / (a^2 s_k + Delta)`` over the eigenvalues ``s_k`` of
    ``B^T B``.
    """

    name = "linear-manifold"

    def __init__(self, d: int, D: int, generator, dtype, device):
        self.d, self.D = int(d), int(D)
        self.B, self.par_basis = _frozen_embedding(self.d, self.D, generator, dtype, device)
        self._gram = self.B.T @ self.B
        self.eig = torch.linalg.eigvalsh(self._gram.double())
        self._t = None

    def _prepare(self, t):
        if self._t != t:
            a, delta = ou_forward(t)
            gram = self._gram
            K = torch.linalg.inv(delta * torch.eye(self.D, dtype=gram.dtype, device=gram.device)
                                 + a * a * gram)
            self._BK = self.B @ K
            self._t = t

    def sample(self, n, generator, dtype, device):
        z = torch.randn(n, self.D, generator=generator, dtype=dtype, device=device)
        return z @ self.B.to(dtype).T

    def score(self, y, t):
        a, delta = ou_forward(t)
        self._prepare(t)
        return -(y - a * a * ((y @ self.B) @ self._BK.T)) / delta

    def score_sq_mean(self, t):
        # E ||Sigma_t^{-1} y||^2 / d = Tr(Sigma_t^{-1}) / d
        a, delta = ou_forward(t)
        tr = (self.d - self.D) / delta + float((1.0 / (a * a * self.eig + delta)).sum())
        return tr / self.d

    def exact_score_test_error(self, t, generator=None):
        a, delta = ou_forward(t)
        return float((a * a * self.eig / (a * a * self.eig + delta)).sum()) / self.d, 0.0


class HiddenManifold:
    """``x_0 = phi(M z / sqrt(D))`` (elementwise), frozen Gaussian ``d x D`` matrix M.

    The law of ``x_t`` is not Gaussian and its score has no closed form: ``score`` returns
    ``None`` and the score error is obtained from the test error and a GAMP estimate of
    this instance's ``C_t`` (``score error = (test error - C_t) / Delta``).
    """

    #: fresh draws of ``(z, xi)`` for the GAMP estimate of the instance's ``C_t``
    ct_samples = 16

    name = "hidden-manifold"

    def __init__(self, d: int, D: int, phi, generator, dtype, device):
        self.d, self.D = int(d), int(D)
        self.phi = phi
        self.B, self.par_basis = _frozen_embedding(self.d, self.D, generator, dtype, device)

    def sample(self, n, generator, dtype, device):
        z = torch.randn(n, self.D, generator=generator, dtype=dtype, device=device)
        return self.phi(z @ self.B.to(dtype).T)

    def score(self, y, t):
        return None

    def score_sq_mean(self, t):
        return None

    def exact_score_test_error(self, t, generator=None):
        if generator is None:
            raise ValueError("generator: the hidden manifold's C_t is a Monte Carlo estimate "
                             "and needs a random generator")
        est = instance_exact_score_constant(self.B, self.phi, t, n_samples=self.ct_samples,
                                            generator=generator)
        return est.c_t, est.se


def make_data(setting, d: int, generator, dtype, device):
    """The data model of an :class:`lowdim.theory.rf.RFSetting` point at dimension ``d``.

    ``generator`` draws the frozen manifold matrix (unused for isotropic and subspace data).
    """
    name = setting.data
    if name == "gaussian":
        return IsotropicGaussian(d)
    if name == "spectrum":
        return EmpiricalCovariance(d, setting.eigenvalues, device, dtype)
    D = intrinsic_dimension(float(setting.psi_d), d)
    if name == "subspace":
        return Subspace(d, D, device, dtype)
    if name == "linear-manifold":
        return LinearManifold(d, D, generator, dtype, device)
    if name == "hidden-manifold":
        return HiddenManifold(d, D, torch_activation(setting.manifold_activation), generator,
                              dtype, device)
    raise ValueError(f"data: unknown data model {name!r}")
