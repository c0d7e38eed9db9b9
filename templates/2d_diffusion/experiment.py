"""DDPM on 2-D toy datasets with an MLP denoiser and sinusoidal embeddings.

Usage: python experiment.py --out_dir=run_0

Writes run_0/final_info.json as {dataset: {"means": {metric: value}}} and run_0/all_results.npy
(a pickled dict: {dataset: {"train_losses": [...], "samples": (n, 2) array, "data": (n, 2) array}}),
which plot.py reads.
"""

import argparse
import json
import math
import os
import pathlib
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from toy_datasets import get_dataset

# -----------------------------------------------------------------------------------------------------
# Model
# -----------------------------------------------------------------------------------------------------


class SinusoidalEmbedding(nn.Module):
    """Maps a scalar per example to [sin(s*x*f_i), cos(s*x*f_i)] with geometric frequencies f_i."""

    def __init__(self, dim, scale=1.0):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / max(half - 1, 1))
        self.register_buffer("freqs", freqs)
        self.scale = scale

    def forward(self, x):
        angles = (x * self.scale)[:, None] * self.freqs[None, :]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, x):
        return x + F.gelu(self.linear(x))


class MLPDenoiser(nn.Module):
    """Predicts the noise added to a 2-D point, given the noisy point and the timestep."""

    def __init__(self, embedding_dim=64, hidden_dim=128, hidden_layers=3, input_scale=25.0):
        super().__init__()
        self.time_embedding = SinusoidalEmbedding(embedding_dim)
        self.x_embedding = SinusoidalEmbedding(embedding_dim, scale=input_scale)
        self.y_embedding = SinusoidalEmbedding(embedding_dim, scale=input_scale)
        self.network = nn.Sequential(
            nn.Linear(3 * embedding_dim, hidden_dim),
            nn.GELU(),
            *[ResidualBlock(hidden_dim) for _ in range(hidden_layers)],
            nn.Linear(hidden_dim, 2),
        )

    def forward(self, x, t):
        features = torch.cat(
            [self.x_embedding(x[:, 0]), self.y_embedding(x[:, 1]), self.time_embedding(t.float())], dim=-1
        )
        return self.network(features)


# -----------------------------------------------------------------------------------------------------
# Diffusion process
# -----------------------------------------------------------------------------------------------------


class NoiseScheduler:
    """The DDPM forward process q(x_t | x_0) and ancestral sampling of p(x_{t-1} | x_t)."""

    def __init__(self, num_timesteps=100, beta_start=1e-4, beta_end=0.02, schedule="linear", device="cpu"):
        self.num_timesteps = num_timesteps
        if schedule == "linear":
            betas = torch.linspace(beta_start, beta_end, num_timesteps)
        elif schedule == "quadratic":
            betas = torch.linspace(beta_start**0.5, beta_end**0.5, num_timesteps) ** 2
        else:
            raise ValueError(f"unknown beta schedule {schedule!r}")
        alphas = 1.0 - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
        self.betas = betas.to(device)
        self.alphas = alphas.to(device)
        self.sqrt_alphas_cumprod = alphas_cumprod.sqrt().to(device)
        self.sqrt_one_minus_alphas_cumprod = (1.0 - alphas_cumprod).sqrt().to(device)
        # posterior q(x_{t-1} | x_t, x_0) variance, clipped away from zero at t = 0
        posterior_var = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        self.posterior_std = posterior_var.clamp(min=1e-20).sqrt().to(device)

    def add_noise(self, x0, noise, t):
        return self.sqrt_alphas_cumprod[t, None] * x0 + self.sqrt_one_minus_alphas_cumprod[t, None] * noise

    def step(self, model_output, t, sample, generator=None):
        """One reverse step from x_t to x_{t-1} given the predicted noise (t is a Python int)."""
        coef = self.betas[t] / self.sqrt_one_minus_alphas_cumprod[t]
        mean = (sample - coef * model_output) / self.alphas[t].sqrt()
        if t == 0:
            return mean
        noise = torch.randn(sample.shape, generator=generator, device=sample.device)
        return mean + self.posterior_std[t] * noise


@torch.no_grad()
def sample(model, scheduler, n, device, seed=0):
    generator = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn((n, 2), generator=generator, device=device)
    for t in reversed(range(scheduler.num_timesteps)):
        timesteps = torch.full((n,), t, device=device, dtype=torch.long)
        x = scheduler.step(model(x, timesteps), t, x, generator=generator)
    return x


# -----------------------------------------------------------------------------------------------------
# Metrics
# -----------------------------------------------------------------------------------------------------


def _pairwise_distances(a, b):
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def knn_kl_divergence(p_samples, q_samples, k=5, eps=1e-10):
    """kNN estimate of KL(P || Q) from samples (Wang, Kulkarni & Verdu, 2009).

    D = d/n * sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1)), where rho_k(i) is the distance from
    p_i to its k-th nearest neighbour among the other p samples and nu_k(i) the distance to its k-th
    nearest neighbour among the q samples.
    """
    p = np.asarray(p_samples, dtype=np.float64)
    q = np.asarray(q_samples, dtype=np.float64)
    n, d = p.shape
    m = q.shape[0]
    d_pp = _pairwise_distances(p, p)
    np.fill_diagonal(d_pp, np.inf)
    rho = np.partition(d_pp, k - 1, axis=1)[:, k - 1]
    nu = np.partition(_pairwise_distances(p, q), k - 1, axis=1)[:, k - 1]
    return float(d * np.mean(np.log((nu + eps) / (rho + eps))) + np.log(m / (n - 1)))


# -----------------------------------------------------------------------------------------------------
# Training
# -----------------------------------------------------------------------------------------------------


def run_dataset(name, config, device):
    torch.manual_seed(config.seed)
    data = torch.from_numpy(get_dataset(name, n=config.dataset_size, seed=config.seed)).to(device)
    eval_data = torch.from_numpy(get_dataset(name, n=config.eval_size, seed=config.seed + 1)).to(device)

    model = MLPDenoiser(config.embedding_dim, config.hidden_dim, config.hidden_layers).to(device)
    scheduler = NoiseScheduler(config.num_timesteps, schedule=config.beta_schedule, device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    lr_schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.num_train_steps, pct_start=0.1
    )

    train_losses = []
    start = time.time()
    model.train()
    for _ in range(config.num_train_steps):
        idx = torch.randint(0, data.shape[0], (config.train_batch_size,), device=device)
        x0 = data[idx]
        noise = torch.randn_like(x0)
        t = torch.randint(0, config.num_timesteps, (x0.shape[0],), device=device)
        loss = F.mse_loss(model(scheduler.add_noise(x0, noise, t), t), noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        lr_schedule.step()
        train_losses.append(loss.item())
    training_time = time.time() - start

    # Held-out denoising loss with fixed noise and timesteps, so runs are comparable.
    model.eval()
    generator = torch.Generator(device=device).manual_seed(1234)
    with torch.no_grad():
        noise = torch.randn(eval_data.shape, generator=generator, device=device)
        t = torch.randint(0, config.num_timesteps, (eval_data.shape[0],), generator=generator, device=device)
        eval_loss = F.mse_loss(model(scheduler.add_noise(eval_data, noise, t), t), noise).item()

    start = time.time()
    samples = sample(model, scheduler, config.eval_size, device, seed=config.seed).cpu().numpy()
    inference_time = time.time() - start

    real = eval_data.cpu().numpy()
    kl = knn_kl_divergence(real, samples, k=5)
    means = {
        "training_time": training_time,
        "eval_loss": eval_loss,
        "inference_time": inference_time,
        "kl_divergence": kl,
    }
    results = {"train_losses": train_losses, "samples": samples, "data": real}
    return means, results


def parse_args():
    parser = argparse.ArgumentParser(description="DDPM on 2-D toy datasets")
    parser.add_argument("--out_dir", type=str, default="run_0")
    parser.add_argument("--datasets", type=str, default="circle,dino,line,moons")
    parser.add_argument("--num_train_steps", type=int, default=2000)
    parser.add_argument("--train_batch_size", type=int, default=256)
    parser.add_argument("--learning_rate", type=float, default=3e-3)
    parser.add_argument("--num_timesteps", type=int, default=100)
    parser.add_argument("--beta_schedule", type=str, default="linear", choices=["linear", "quadratic"])
    parser.add_argument("--embedding_dim", type=int, default=64)
    parser.add_argument("--hidden_dim", type=int, default=128)
    parser.add_argument("--hidden_layers", type=int, default=3)
    parser.add_argument("--dataset_size", type=int, default=8000)
    parser.add_argument("--eval_size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SCISWARM_SEED", "0")))
    return parser.parse_args()


def main():
    config = parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # These models are too small to gain from more threads; one thread is fastest when other runs
        # share the CPU. Set OMP_NUM_THREADS to override.
        torch.set_num_threads(1)
    out_dir = pathlib.Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    final_infos = {}
    all_results = {}
    for name in config.datasets.split(","):
        means, results = run_dataset(name, config, device)
        final_infos[name] = {"means": means}
        all_results[name] = results
        print(f"{name}: " + ", ".join(f"{k}={v:.4f}" for k, v in means.items()), flush=True)

    with open(out_dir / "final_info.json", "w") as f:
        json.dump(final_infos, f, indent=2)
    np.save(out_dir / "all_results.npy", all_results, allow_pickle=True)


if __name__ == "__main__":
    main()
