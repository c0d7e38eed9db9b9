"""Procedural 2-D toy datasets (no downloads, no sklearn).

Every generator returns a float32 array of shape (n, 2), roughly centred on the origin with
coordinates in about [-2, 2]. All randomness comes from the numpy Generator passed in.
"""

import numpy as np


def _normalise(points):
    """Centre the cloud and scale it to unit global standard deviation (aspect ratio is kept)."""
    points = points - points.mean(axis=0, keepdims=True)
    return (points / points.std()).astype(np.float32)


def circle(n, rng, noise=0.03):
    """Points on the unit circle with a little radial noise."""
    theta = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = 1.0 + noise * rng.standard_normal(n)
    return _normalise(np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1))


def moons(n, rng, noise=0.05):
    """Two interleaving half circles, with isotropic Gaussian noise."""
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = rng.uniform(0.0, np.pi, n_outer)
    t_inner = rng.uniform(0.0, np.pi, n_inner)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = np.stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)], axis=1)
    points = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    return _normalise(rng.permutation(points))


def line(n, rng, noise=0.02):
    """A thin diagonal segment with uniform density along its length."""
    t = rng.uniform(-1.0, 1.0, n)
    direction = np.array([1.0, 0.5]) / np.sqrt(1.25)
    normal = np.array([-direction[1], direction[0]])
    points = t[:, None] * direction + noise * rng.standard_normal(n)[:, None] * normal
    return _normalise(points)


# --- a hand-made dinosaur silhouette -------------------------------------------------------------------


def _in_ellipse(p, centre, a, b, angle=0.0):
    c, s = np.cos(angle), np.sin(angle)
    d = p - np.asarray(centre)
    u = d[:, 0] * c + d[:, 1] * s
    v = -d[:, 0] * s + d[:, 1] * c
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _in_capsule(p, start, end, r_start, r_end):
    """Inside a segment thickened by a radius that varies linearly from start to end."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    seg = end - start
    t = np.clip(((p - start) @ seg) / (seg @ seg), 0.0, 1.0)
    closest = start + t[:, None] * seg
    radius = r_start + t * (r_end - r_start)
    return np.linalg.norm(p - closest, axis=1) <= radius


def _in_triangle(p, a, b, c):
    def side(p1, p2):
        return (p[:, 0] - p2[0]) * (p1[1] - p2[1]) - (p1[0] - p2[0]) * (p[:, 1] - p2[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    has_neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
    has_pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
    return ~(has_neg & has_pos)


def _in_dino(p):
    inside = _in_ellipse(p, (0.0, 0.0), 1.0, 0.55)  # body
    inside |= _in_capsule(p, (0.65, 0.25), (1.25, 1.15), 0.22, 0.13)  # neck
    inside |= _in_ellipse(p, (1.45, 1.25), 0.32, 0.17, angle=-0.2)  # head
    inside |= _in_capsule(p, (-0.8, 0.05), (-2.2, -0.45), 0.3, 0.03)  # tail
    for x_hip, x_foot in [(-0.55, -0.65), (-0.3, -0.25), (0.35, 0.3), (0.6, 0.7)]:  # legs
        inside |= _in_capsule(p, (x_hip, -0.3), (x_foot, -1.15), 0.12, 0.1)
    for x in np.linspace(-0.7, 0.6, 5):  # plates along the back
        inside |= _in_triangle(p, (x - 0.15, 0.45), (x + 0.15, 0.45), (x, 0.85))
    return inside


def dino(n, rng, noise=0.01):
    """A dinosaur-ish silhouette (body, neck, head, tail, four legs, back plates), filled uniformly."""
    points = np.empty((0, 2))
    while len(points) < n:
        candidates = rng.uniform([-2.4, -1.3], [1.9, 1.5], size=(4 * n, 2))
        points = np.concatenate([points, candidates[_in_dino(candidates)]])
    points = points[:n] + noise * rng.standard_normal((n, 2))
    return _normalise(points)


DATASETS = {"circle": circle, "dino": dino, "line": line, "moons": moons}


def get_dataset(name, n=8000, seed=0):
    """Return n points of the named dataset as a float32 (n, 2) array."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(DATASETS)}")
    return DATASETS[name](n, np.random.default_rng(seed))
