"""A Gaussian mixture fitted to latents by EM (numpy): where a trained encoder's data really lies.

    mixture = fit_mixture(z, 10, seed=0)        # z [N, Z]
    mixture.sample(8, np.random.default_rng(0)) # [8, Z]
    mixture.log_density(z)                      # [N]

One Gaussian fitted to an auto-encoder's latents puts mass in the gaps between the classes'
clusters, and what the gaps decode to is rarely any class ("Autoencoders and latent space
fragmentation"); a mixture of K keeps to the clusters. scikit-learn's GaussianMixture does the
same but is not a dependency here; this is its full-covariance EM with k-means++ starts, a
ridge of ``REG`` on each covariance (scikit-learn's ``reg_covar`` default) and a fixed number of
iterations or a tolerance on the mean log-likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParamError

REG = 1e-6  # added to every covariance's diagonal: a component on a few points stays invertible
MAX_COMPONENTS = 256


@dataclass(frozen=True)
class Mixture:
    """K Gaussians: ``weights`` [K], ``means`` [K, Z], ``covariances`` [K, Z, Z]."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """[N]: log p(z) under the mixture."""
        return _logsumexp(_component_log_density(z, self) + np.log(self.weights), axis=1)

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """[count, Z]: a component by its weight, then a draw from it (reproducible from ``rng``)."""
        which = rng.choice(len(self.weights), size=count, p=self.weights)
        eps = rng.standard_normal((count, self.means.shape[1]))
        chol = np.linalg.cholesky(self.covariances)
        return self.means[which] + np.einsum("nij,nj->ni", chol[which], eps)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def _component_log_density(z: np.ndarray, mixture: Mixture) -> np.ndarray:
    """[N, K]: log N(z | mean_k, cov_k)."""
    n, d = z.shape
    chol = np.linalg.cholesky(mixture.covariances)  # [K, Z, Z]
    out = np.empty((n, len(mixture.weights)))
    for k in range(len(mixture.weights)):
        solved = np.linalg.solve(chol[k], (z - mixture.means[k]).T)  # [Z, N]
        log_det = 2 * np.log(np.diag(chol[k])).sum()
        out[:, k] = -0.5 * ((solved**2).sum(0) + log_det + d * np.log(2 * np.pi))
    return out


def _kmeans_plus_plus(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [z[rng.integers(len(z))]]
    for _ in range(1, k):
        d2 = np.min(((z[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centres.append(z[rng.choice(len(z), p=d2 / total)] if total > 0 else z[rng.integers(len(z))])
    return np.array(centres)


KMEANS_STEPS = 20


def _m_step(z: np.ndarray, resp: np.ndarray) -> Mixture:
    """The mixture that maximises the likelihood for responsibilities ``resp`` [N, K]."""
    d = z.shape[1]
    mass = resp.sum(0) + 1e-12
    means = (resp.T @ z) / mass[:, None]
    covs = np.empty((resp.shape[1], d, d))
    for k in range(resp.shape[1]):
        centred = z - means[k]
        covs[k] = (resp[:, k, None] * centred).T @ centred / mass[k] + REG * np.eye(d)
    return Mixture(mass / mass.sum(), means, covs)


def fit_mixture(z: np.ndarray, components: int, *, seed: int = 0, steps: int = 200, tol: float = 1e-5) -> Mixture:
    """A ``components``-Gaussian mixture fitted to ``z`` [N, Z] by EM from k-means++ starts."""
    z = np.asarray(z, np.float64)
    if not 1 <= components <= MAX_COMPONENTS:
        raise ParamError("mixture", f"must be 1..{MAX_COMPONENTS} components, got {components}")
    if len(z) < 2 * components:
        raise ParamError("mixture", f"of {components} components needs at least {2 * components} latents, got {len(z)}")
    rng = np.random.default_rng(seed)
    centres = _kmeans_plus_plus(z, components, rng)
    for _ in range(KMEANS_STEPS):  # Lloyd's k-means from the k-means++ seeds, as scikit-learn starts EM
        nearest = ((z[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.array([z[nearest == k].mean(0) if (nearest == k).any() else centres[k] for k in range(components)])
    mixture = _m_step(z, np.eye(components)[nearest])
    before = -np.inf
    for _ in range(steps):
        joint = _component_log_density(z, mixture) + np.log(mixture.weights)  # E step
        total = _logsumexp(joint, axis=1)
        mixture = _m_step(z, np.exp(joint - total[:, None]))
        now = float(total.mean())
        if abs(now - before) <= tol * max(1.0, abs(before)):
            break
        before = now
    return mixture
