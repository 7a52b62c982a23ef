"""Finite-size MoLRG experiments: sampling, ideal learners, trained low-rank denoisers and the
subspace-recovery metric, with many independent trials batched in one tensor.

Shapes: a batch of ``B`` independent problems holds data ``X`` (B, N, D) with a validity mask
``mask`` (B, N) (problems with fewer samples are padded with zero rows), and bases ``U``
(B, K, D, d).  Everything runs in float64 on the requested device.

Learners (Wang et al. 2024, research note molrg_subspace.md sections 3, 7 and 8):

* :func:`pca`: top-d eigenvectors of ``X^T X`` (the K = 1 optimum, paper Theorem 1);
* :func:`k_subspaces`: alternate assignment by ``argmax_k ||U_k^T x||`` and per-cluster PCA,
  with data-seeded restarts, keeping the restart of largest ``sum_i max_k ||U_k^T x_i||^2``
  (the hard-max optimum, paper Theorem 3);
* :func:`train_lowrank_denoiser`: the low-rank denoiser ``c sum_k w_k(x_t) U_k U_k^T x_t``
  (soft-max weights; K = 1 is ``c U U^T x_t``) trained on the Monte Carlo denoising loss by
  Riemannian SGD with a QR retraction and a linearly decaying step.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.molrg import MoLRG
from lowdim.theory.tidy import Tidy, TidyData

from .device import make_generator, one_thread, resolve_device
from ._checks import integer, number

__all__ = ["Batch", "draw_batch", "pca", "k_subspaces", "subspace_errors",
           "train_lowrank_denoiser", "TrainedDenoiser", "lowrank_denoise", "INITS",
           "seeded_bases", "random_bases", "generalization_report", "GeneralizationReport",
           "oracle_pca"]

INITS = ("neighbours", "samples", "random")
_DT = torch.float64


# ----------------------------------------------------------------------------- data
@dataclass
class Batch:
    """A batch of independent MoLRG problems.

    Attributes
    ----------
    X : (B, N, D) tensor
        Samples, zero rows where ``mask`` is False.
    mask : (B, N) bool tensor
        Which rows are samples.
    labels : (B, N) long tensor
        Component of every sample (-1 on padding).
    bases : (B, K, D, d) tensor
        The true bases of every problem.
    counts : (B, K) long tensor
        ``N_k`` per problem.
    """

    X: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    bases: torch.Tensor
    counts: torch.Tensor


def random_bases(B, K, D, d, generator, *, orthogonal=True, device="cpu"):
    """``B`` independent sets of ``K`` orthonormal ``(D, d)`` bases (Haar), mutually orthogonal
    blocks of one orthogonal matrix when ``orthogonal``."""
    if orthogonal:
        g = torch.randn(B, D, K * d, generator=generator, dtype=_DT, device=device)
        q = _orthonormalize(g)
        return q.reshape(B, D, K, d).permute(0, 2, 1, 3).contiguous()
    g = torch.randn(B, K, D, d, generator=generator, dtype=_DT, device=device)
    return _orthonormalize(g)


def _orthonormalize(a):
    """QR with the signs fixed so that ``diag(R) > 0`` (a continuous retraction)."""
    q, r = torch.linalg.qr(a)
    sign = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return q * sign.unsqueeze(-2)


@one_thread
def draw_batch(setting: MoLRG, counts, trials: int, *, seed: int = 0, device="cpu",
               multinomial: bool = False) -> Batch:
    """``trials`` independent MoLRG problems for each entry of ``counts``.

    Parameters
    ----------
    setting : MoLRG
        Dimensions, noise and subspace geometry.
    counts : int or sequence of int
        Samples per component ``N_k`` (balanced), or, with ``multinomial=True``, total sample
        sizes ``N`` with labels drawn from ``Mult(N, weights)``.  Problems are ordered
        count-major: ``counts[0]`` for ``trials`` problems, then ``counts[1]`` ...
    trials : int
        Independent problems (fresh bases, latents and noise) per count.
    """
    if not isinstance(setting, MoLRG):
        raise ValueError(f"setting: expected a lowdim.theory.molrg.MoLRG (got {type(setting).__name__})")
    counts = [integer("counts", c) for c in np.atleast_1d(counts).tolist()]
    trials = integer("trials", trials)
    dev = resolve_device(device)
    K, D, d = setting.K, setting.D, setting.d
    gen = make_generator(dev, seed, "molrg", "data", K, D, d)
    B = len(counts) * trials
    bases = random_bases(B, K, D, d, gen, orthogonal=setting.orthogonal, device=dev)
    per_problem = np.repeat(counts, trials)
    if multinomial:
        rng = np.random.default_rng(int(torch.randint(0, 2 ** 62, (1,), generator=gen,
                                                      device=dev).item()))
        kcounts = np.stack([rng.multinomial(n, setting.weights) for n in per_problem])
    else:
        kcounts = np.tile(np.asarray(counts)[:, None], (1, K)).repeat(trials, axis=0)
    n_max = int(kcounts.sum(1).max())
    labels = torch.full((B, n_max), -1, dtype=torch.long)
    for b in range(B):
        lab = np.repeat(np.arange(K), kcounts[b])
        labels[b, :lab.size] = torch.from_numpy(lab)
    labels = labels.to(dev)
    mask = labels >= 0
    a = torch.randn(B, n_max, d, generator=gen, dtype=_DT, device=dev)
    chosen = bases[torch.arange(B, device=dev)[:, None], labels.clamp(min=0)]   # (B, N, D, d)
    X = torch.einsum("bnDd,bnd->bnD", chosen, a)
    if setting.noise > 0:
        X = X + setting.noise / math.sqrt(D) * torch.randn(B, n_max, D, generator=gen,
                                                             dtype=_DT, device=dev)
    X = X * mask[..., None]
    return Batch(X, mask, labels, bases, torch.as_tensor(kcounts, device=dev))


# ----------------------------------------------------------------------------- metric
@one_thread
def subspace_errors(U_hat, U_true):
    """Normalized projection distances ``||U_hat U_hat^T - U U^T||_F / sqrt(2 d)`` per
    component, after the permutation of the learned bases that minimizes their squared sum.

    Returns a (B, K) tensor; a problem is recovered when its largest entry is small.
    """
    if U_hat.shape != U_true.shape:
        raise ValueError(f"U_hat: shape {tuple(U_hat.shape)} differs from the truth's "
                         f"{tuple(U_true.shape)}")
    B, K, D, d = U_true.shape
    overlap = torch.einsum("biDd,bjDe->bijde", U_hat, U_true).pow(2).sum((-1, -2))  # (B, K, K)
    sq = (2 * d - 2 * overlap).clamp(min=0) / (2 * d)                # sq[b, i, j]: hat i vs true j
    if K == 1:
        return sq[:, 0, :].sqrt()
    if K > 6:
        from scipy.optimize import linear_sum_assignment

        out = torch.empty(B, K, dtype=sq.dtype, device=sq.device)
        cost = sq.cpu().numpy()
        for b in range(B):
            rows, cols = linear_sum_assignment(cost[b])
            out[b, torch.as_tensor(cols)] = sq[b, torch.as_tensor(rows), torch.as_tensor(cols)]
        return out.sqrt()
    perms = torch.tensor(list(itertools.permutations(range(K))), device=sq.device)  # (P, K)
    cols = torch.arange(K, device=sq.device)
    per = sq[:, perms, cols]                                          # (B, P, K)
    best = per.sum(-1).argmin(-1)
    return per[torch.arange(B, device=sq.device), best].sqrt()


# ----------------------------------------------------------------------------- ideal learners
def _top_eigvecs(gram, d):
    """Top-``d`` eigenvectors of symmetric ``gram`` (..., D, D).

    On the CPU the batch is solved with one thread (small problems: more threads only spin)
    in chunks of 128 matrices, so that a Ctrl-C is never kept waiting for a long call."""
    if gram.device.type != "cpu":
        return torch.linalg.eigh(gram)[1][..., -d:].flip(-1)
    flat = gram.reshape(-1, *gram.shape[-2:])
    with one_thread():
        vecs = torch.cat([torch.linalg.eigh(chunk)[1][..., -d:] for chunk in flat.split(128)])
    return vecs.reshape(*gram.shape[:-1], -1).flip(-1)


@one_thread
def pca(X, mask, d: int):
    """Uncentered PCA: the top-``d`` eigenvectors of ``sum_i x_i x_i^T``; (B, 1, D, d).

    Below ``N = d`` the sample span is completed by eigenvectors of the zero eigenvalue, an
    arbitrary completion (the failure floor of Theorem 2)."""
    d = integer("d", d)
    Xm = X * mask[..., None]
    return _top_eigvecs(Xm.transpose(-1, -2) @ Xm, d).unsqueeze(1)


def _energies(U, X):
    """``||U_k^T x_i||^2``: (B, K, N) for ``U`` (B, K, D, d) and ``X`` (B, N, D)."""
    return torch.einsum("bkDd,bnD->bknd", U, X).pow(2).sum(-1)


def seeded_bases(X, mask, K, d, generator, *, init="neighbours", progress=None):
    """Initial bases for K-subspaces and for the trained denoiser, (B, K, D, d).

    ``"neighbours"``: K seed samples, the first uniform and each next one drawn with
    probability proportional to the squared residual off the bases chosen so far; each basis
    spans the seed's ``d`` nearest samples in ``|cos|`` (the seed included).
    ``"samples"``: each basis spans ``d`` uniformly drawn samples (no neighbourhood search).
    ``"random"``: Haar-random orthonormal bases, ignoring the data.
    ``progress(done, K)``, if given, is called after each basis of ``"neighbours"``.
    """
    if init not in INITS:
        raise ValueError(f"init: must be one of {INITS} (got {init!r})")
    B, N, D = X.shape
    dev = X.device
    if init == "random":
        g = torch.randn(B, K, D, d, generator=generator, dtype=X.dtype, device=dev)
        return _orthonormalize(g)
    jitter = 1e-9 * torch.randn(B, K, D, D, generator=generator, dtype=X.dtype, device=dev)
    jitter = jitter + jitter.transpose(-1, -2)                        # random completion
    valid = mask.to(X.dtype)
    if init == "samples":
        w = valid.unsqueeze(1).expand(B, K, N).reshape(B * K, N)
        idx = torch.multinomial(w, min(d, N), replacement=False, generator=generator)
        pts = torch.gather(X.unsqueeze(1).expand(B, K, N, D).reshape(B * K, N, D), 1,
                           idx[..., None].expand(-1, -1, D)).reshape(B, K, -1, D)
        return _top_eigvecs(pts.transpose(-1, -2) @ pts + jitter, d)
    norm2 = X.pow(2).sum(-1).clamp(min=torch.finfo(X.dtype).tiny)   # padding rows are 0
    Xn = X / norm2.sqrt()[..., None]
    cos = (Xn @ Xn.transpose(-1, -2)).abs() * valid[:, None, :] - (1 - valid[:, None, :])
    out = []
    residual = valid.clone()
    ar = torch.arange(B, device=dev)
    for k in range(K):
        seed = torch.multinomial(residual ** 2 + 1e-30 * valid, 1,
                                 generator=generator)[:, 0]
        nbr = cos[ar, seed].topk(min(d, N), dim=-1).indices            # (B, d)
        pts = torch.gather(X, 1, nbr[..., None].expand(-1, -1, D))
        U = _top_eigvecs(pts.transpose(-1, -2) @ pts + jitter[:, k], d)
        out.append(U)
        kept = torch.stack(out, 1)
        energy = _energies(kept, X).max(1).values                      # (B, N)
        residual = (1 - energy / norm2).clamp(min=0) * valid
        if progress is not None:
            progress(k + 1, K)
    return torch.stack(out, 1)


@one_thread
def k_subspaces(X, mask, K: int, d: int, *, restarts: int = 10, iterations: int = 30,
                init: str = "neighbours", seed: int = 0, progress=None):
    """K-subspaces clustering with seeded restarts; returns ``(bases, objective)``.

    ``bases`` is (B, K, D, d); ``objective`` (B,) is ``(1/N) sum_i max_k ||U_k^T x_i||^2`` of
    the kept restart.  Every restart runs ``iterations`` alternations (assignment, then
    per-cluster PCA; an empty cluster keeps its basis), stopping a restart once its assignment
    no longer changes (settled restarts drop out of the work).  With fewer samples than ``D``
    the work is done in the coordinates of the data's span (exact for every direction of
    non-zero energy), so the cost does not grow with ``D``; a cluster with fewer than ``d``
    samples is completed within that span (and by random directions off it when ``N < d``).
    ``progress(done, K + iterations)``, if given, is called after each seeded basis and each
    alternation (and with ``done = K + iterations`` once every restart has settled).
    """
    K, d = integer("K", K), integer("d", d)
    restarts, iterations = integer("restarts", restarts), integer("iterations", iterations, low=0)
    B, N, D = X.shape
    dev = X.device
    gen = make_generator(dev, seed, "molrg", "k-subspaces")
    if progress is not None:
        progress(0, K + iterations)
    if N < D:
        # every top eigenvector with a non-zero eigenvalue lies in the span of the data: work
        # in the coordinates of an orthonormal basis Q (D x N) of that span, then lift back
        Q = torch.linalg.qr(X.transpose(-1, -2))[0]                    # (B, D, N)
        U, obj = k_subspaces(X @ Q, mask, K, min(d, N), restarts=restarts,
                             iterations=iterations, init=init, seed=seed, progress=progress)
        U = torch.einsum("bDr,bkrd->bkDd", Q, U)
        if U.shape[-1] < d:  # fewer samples than d: complete with directions off the span
            extra = torch.randn(B, K, D, d - U.shape[-1], generator=gen, dtype=X.dtype,
                                device=dev)
            extra = extra - torch.einsum("bDr,bEr,bkEe->bkDe", Q, Q, extra)
            U = _orthonormalize(torch.cat([U, extra], -1))
        return U, obj
    Xr = X.repeat_interleave(restarts, 0)
    mr = mask.repeat_interleave(restarts, 0)
    total = K + iterations

    def seeding(done, _):
        progress(done, total)

    U = seeded_bases(Xr, mr, K, d, gen, init=init,
                     progress=None if progress is None else seeding)
    valid = mr.to(X.dtype)
    previous = torch.full(mr.shape, -1, dtype=torch.long, device=dev)
    active = torch.arange(Xr.shape[0], device=dev)                    # restarts still moving
    for it in range(iterations):
        Xa, Ua = Xr[active], U[active]
        lab = _energies(Ua, Xa).argmax(1)                              # (A, N)
        moved = (lab != previous[active]).any(1)
        active, lab, Xa, Ua = active[moved], lab[moved], Xa[moved], Ua[moved]
        if active.numel() == 0:
            break
        previous[active] = lab
        onehot = torch.nn.functional.one_hot(lab, K).to(X.dtype) * valid[active][..., None]
        gram = torch.einsum("bnk,bnD,bnE->bkDE", onehot, Xa, Xa)
        newU = _top_eigvecs(gram, d)
        empty = onehot.sum(1) == 0                                     # (A, K)
        U[active] = torch.where(empty[..., None, None], Ua, newU)
        if progress is not None:
            progress(K + it + 1, total)
    if progress is not None:
        progress(total, total)
    n_valid = valid.sum(1).clamp(min=1)
    obj = (_energies(U, Xr).max(1).values * valid).sum(1) / n_valid
    obj = obj.reshape(B, restarts)
    best = obj.argmax(1)
    U = U.reshape(B, restarts, K, D, d)[torch.arange(B, device=dev), best]
    return U, obj[torch.arange(B, device=dev), best]


# ----------------------------------------------------------------------------- trained DAE
def lowrank_denoise(U, xt, sigma):
    """The soft-max low-rank denoiser at VE noise level ``sigma`` (s = 1, gamma = sigma):
    ``c sum_k softmax_k(phi ||U_k^T x||^2) U_k U_k^T x`` with ``c = 1/(1 + sigma^2)`` and
    ``phi = 1 / (2 sigma^2 (1 + sigma^2))`` (equal dimensions and weights).

    ``U`` (B, K, D, d); ``xt`` (B, M, D); ``sigma`` (B, M).
    """
    proj = torch.einsum("bkDd,bmD->bmkd", U, xt)                      # (B, M, K, d)
    s2 = sigma ** 2
    c = 1.0 / (1.0 + s2)
    if U.shape[1] == 1:
        w = torch.ones_like(proj[..., 0])
    else:
        phi = 1.0 / (2 * s2 * (1 + s2))
        w = torch.softmax(phi[..., None] * proj.pow(2).sum(-1), dim=-1)   # (B, M, K)
    back = torch.einsum("bkDd,bmkd->bmkD", U, proj)
    return c[..., None] * torch.einsum("bmk,bmkD->bmD", w, back)


@dataclass
class TrainedDenoiser:
    """A batch of trained low-rank denoisers.

    Attributes
    ----------
    bases : (B, K, D, d) tensor
        The kept restart of every problem.
    loss : (B,) tensor
        Its final Monte Carlo loss (common noise draws across restarts).
    initial_bases : (B, K, D, d) tensor
        The starting point of the kept restart.
    steps : int
        Riemannian SGD steps per restart.
    """

    bases: torch.Tensor
    loss: torch.Tensor
    initial_bases: torch.Tensor
    steps: int


def _dsm_loss(U, X, valid, sigma, eps):
    """Per-problem mean of ``||x_theta(x + sigma eps, sigma) - x||^2`` over valid samples and
    the noise draws ``eps`` (B, N, M, D), each also used with its sign flipped (antithetic);
    ``sigma`` is (B, N), one level per sample.

    The loss depends on the noise only through ``r_k = U_k^T eps``: with ``q_k = U_k^T x``,
    ``p_k = q_k + sigma r_k``, soft-max weights ``w`` and ``G_kl = U_k^T U_l``,
    ``||x_theta - x||^2 = c^2 (w p)^T G (w p) - 2 c sum_k w_k q_k^T p_k + ||x||^2``, so no
    D-dimensional tensor per noise draw is formed beyond ``eps`` itself.
    """
    B, K, D, d = U.shape
    q = torch.einsum("bkDd,bnD->bnkd", U, X)                          # (B, N, K, d)
    r = torch.einsum("bkDd,bnmD->bnmkd", U, eps)                      # (B, N, M, K, d)
    r = torch.cat([r, -r], 2)
    sig = sigma[:, :, None]
    p = q[:, :, None] + sig[..., None, None] * r                      # (B, N, 2M, K, d)
    s2 = sig ** 2
    c = 1.0 / (1.0 + s2)
    if K == 1:
        w = torch.ones_like(p[..., 0])
    else:
        phi = 1.0 / (2 * s2 * (1 + s2))
        w = torch.softmax(phi[..., None] * p.pow(2).sum(-1), dim=-1)   # (B, N, 2M, K)
    wp = (w[..., None] * p).flatten(-2)                                # (B, N, 2M, K d)
    W = U.permute(0, 2, 1, 3).reshape(B, D, K * d)
    gram = W.transpose(-1, -2) @ W                                    # (B, K d, K d)
    quad = torch.einsum("bnmi,bij,bnmj->bnm", wp, gram, wp)
    cross = (wp * q.flatten(-2)[:, :, None]).sum(-1)
    err = c ** 2 * quad - 2 * c * cross + X.pow(2).sum(-1)[:, :, None]
    return (err.mean(-1) * valid).sum(1) / valid.sum(1).clamp(min=1)


@one_thread
def train_lowrank_denoiser(X, mask, K: int, d: int, *, steps: int = 800, lr: float = 5.0,
                           sigma_min: float = 0.02, sigma_max: float = 0.2, draws: int = 4,
                           restarts: int = 1, init: str = "neighbours", candidates: int = 8,
                           seed: int = 0, progress=None) -> TrainedDenoiser:
    """Train the low-rank denoiser on the VE denoising loss by Riemannian SGD.

    Each step draws one ``log sigma`` uniform on ``[log sigma_min, log sigma_max]`` and
    ``draws`` antithetic noise pairs ``(eps, -eps)`` per sample, takes the Euclidean gradient
    ``G`` of the per-problem mean loss, projects it on the tangent space of the Stiefel
    manifold (``G - U sym(U^T G)``), steps with ``lr (1 - k/steps)`` and retracts by a
    sign-fixed QR.  With ``restarts > 1`` the restart of lowest final loss (the same noise
    draws for every restart) is kept.

    Each restart starts from the best of ``candidates`` data-seeded bases (:func:`seeded_bases`)
    by the hard-max objective ``sum_i max_k ||U_k^T x_i||^2``, which costs no training: a
    single seeding occasionally puts two seeds in one subspace, and the soft-max loss then
    keeps a mixed local minimum.  ``progress(done, steps)``, if given, is called after every
    step.
    """
    K, d = integer("K", K), integer("d", d)
    steps, draws = integer("steps", steps), integer("draws", draws)
    restarts = integer("restarts", restarts)
    lr, sigma_min, sigma_max = (number(name, v) for name, v in (
        ("lr", lr), ("sigma_min", sigma_min), ("sigma_max", sigma_max)))
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_max: must be >= sigma_min ({sigma_max} < {sigma_min})")
    B, N, D = X.shape
    dev = X.device
    gen = make_generator(dev, seed, "molrg", "dae", init)
    Xr = X.repeat_interleave(restarts, 0)
    mr = mask.repeat_interleave(restarts, 0)
    valid = mr.to(X.dtype)
    BR = B * restarts
    candidates = integer("candidates", candidates)
    cand = seeded_bases(Xr.repeat_interleave(candidates, 0), mr.repeat_interleave(candidates, 0),
                        K, d, gen, init=init).reshape(BR, candidates, K, D, d)
    energy = torch.einsum("bckDd,bnD->bcknd", cand, Xr).pow(2).sum(-1).max(2).values
    pick = (energy * valid[:, None]).sum(-1).argmax(1)
    U = cand[torch.arange(BR, device=dev), pick]
    U0 = U.clone()
    lo, hi = math.log(sigma_min), math.log(sigma_max)
    for k in range(steps):
        sigma = torch.exp(lo + (hi - lo) * torch.rand(BR, N, generator=gen, dtype=X.dtype,
                                                         device=dev))
        # float32 draws (six times faster to generate on the CPU), used in float64
        eps = torch.randn(BR, N, draws, D, generator=gen, dtype=torch.float32,
                          device=dev).to(X.dtype)
        U.requires_grad_(True)
        loss = _dsm_loss(U, Xr, valid, sigma, eps).sum()
        (G,) = torch.autograd.grad(loss, U)
        with torch.no_grad():
            UtG = U.transpose(-1, -2) @ G
            rgrad = G - U @ (0.5 * (UtG + UtG.transpose(-1, -2)))
            U = _orthonormalize(U - lr * (1 - k / steps) * rgrad)
        if progress is not None:
            progress(k + 1, steps)
    U = U.detach()
    with torch.no_grad():
        # final loss on common draws: one generator per problem index, shared by its restarts
        eg = make_generator(dev, seed, "molrg", "dae", "final")
        levels = torch.logspace(math.log10(sigma_min), math.log10(sigma_max), 8, dtype=X.dtype,
                                device=dev)
        final = 0
        for level in levels:
            e = torch.randn(B, N, 4, D, generator=eg, dtype=X.dtype, device=dev)
            final = final + _dsm_loss(U, Xr, valid, level.expand(BR, N),
                                      e.repeat_interleave(restarts, 0)) / levels.numel()
        final = final.reshape(B, restarts)
    best = final.argmin(1)
    ar = torch.arange(B, device=dev)
    shape = (B, restarts, K, D, d)
    return TrainedDenoiser(U.reshape(shape)[ar, best], final[ar, best],
                           U0.reshape(shape)[ar, best], steps)


# ----------------------------------------------------------------------------- generalization
@dataclass(frozen=True)
class GeneralizationReport(Tidy):
    """How generated samples sit relative to the union of subspaces and the training set;
    ``to_pandas()`` (one row) and ``to_xarray()`` (scalars) hold the fields.

    Attributes
    ----------
    union_distance : float
        Median of ``min_k ||x - U_k U_k^T x|| / ||x||`` over generated samples.
    copy_fraction : float
        Fraction of samples closer to their nearest training point than a third of the
        distance to the second nearest (the 1/3 rule of memorization studies).
    on_union_fraction : float
        Fraction with relative distance to the union below ``union_tol`` (sample quality).
    score : float
        ``1 - copy_fraction``: the generalization score (the analogue of the paper's GL score,
        which counts generated images without a near-duplicate in the training set).
    n : int
        Number of generated samples.
    """

    union_distance: float
    copy_fraction: float
    on_union_fraction: float
    score: float
    n: int

    def _tidy(self):
        names = ("union_distance", "copy_fraction", "on_union_fraction", "score")
        return TidyData({}, {k: float(getattr(self, k)) for k in names},
                        attrs={"n": int(self.n)})


@one_thread
def generalization_report(samples, train, bases, *, union_tol: float = 0.1
                          ) -> GeneralizationReport:
    """Generalization of ``samples`` (M, D) given ``train`` (N, D) and the true ``bases``
    (K, D, d): how many are copies of a training point, and how close they are to the union
    of subspaces."""
    x = torch.as_tensor(samples, dtype=_DT)
    tr = torch.as_tensor(train, dtype=_DT, device=x.device)
    U = torch.as_tensor(bases, dtype=_DT, device=x.device)
    if tr.shape[0] < 2:
        raise ValueError("train: need at least two training points for the 1/3 rule")
    proj = torch.einsum("kDd,mD->mkd", U, x).pow(2).sum(-1)          # (M, K)
    norm2 = x.pow(2).sum(-1).clamp(min=torch.finfo(x.dtype).tiny)
    rel = (1 - proj.max(1).values / norm2).clamp(min=0).sqrt()
    dist = torch.cdist(x, tr)
    two = dist.topk(2, dim=1, largest=False).values
    copy = two[:, 0] < two[:, 1] / 3
    on = rel < union_tol
    return GeneralizationReport(float(rel.median()), float(copy.double().mean()),
                                float(on.double().mean()), float(1 - copy.double().mean()),
                                int(x.shape[0]))


@one_thread
def oracle_pca(batch: Batch):
    """Per-component PCA with the true labels, (B, K, D, d): what a perfect clustering would
    give, separating estimation noise from clustering failures."""
    K, d = batch.bases.shape[1], batch.bases.shape[3]
    onehot = torch.nn.functional.one_hot(batch.labels.clamp(min=0), K).to(batch.X.dtype)
    onehot = onehot * batch.mask[..., None]
    gram = torch.einsum("bnk,bnD,bnE->bkDE", onehot, batch.X, batch.X)
    return _top_eigvecs(gram, d)
