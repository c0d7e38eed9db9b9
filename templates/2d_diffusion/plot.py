"""Plot the runs in the current directory: training-loss curves and a grid of generated samples.

Reads run_*/final_info.json and run_*/all_results.npy; writes train_loss.png and generated_samples.png.
Only the runs named in `labels` are plotted (in that order); add an entry for every new run.
"""

import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

# Run folder -> legend label. Edit this when you add runs.
labels = {
    "run_0": "Baseline",
}


def moving_average(values, window=50):
    values = np.asarray(values, dtype=float)
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def load_runs():
    runs = {}
    chosen = [r for r in labels if pathlib.Path(r, "all_results.npy").exists()]
    if not chosen:  # nothing labelled yet: fall back to every run folder present
        chosen = sorted(str(p.parent) for p in pathlib.Path(".").glob("run_*/all_results.npy"))
    for run in chosen:
        results = np.load(pathlib.Path(run, "all_results.npy"), allow_pickle=True).item()
        info_path = pathlib.Path(run, "final_info.json")
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        runs[run] = (results, info)
    return runs


def plot_train_loss(runs, datasets):
    fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3.2), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for run, (results, _) in runs.items():
            if dataset in results:
                ax.plot(moving_average(results[dataset]["train_losses"]), label=labels.get(run, run))
        ax.set_title(dataset)
        ax.set_xlabel("training step")
        ax.set_ylabel("loss (moving average)")
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig("train_loss.png", dpi=150)
    plt.close(fig)


def plot_samples(runs, datasets):
    rows = len(runs) + 1  # first row: the real data
    fig, axes = plt.subplots(
        rows, len(datasets), figsize=(3 * len(datasets), 3 * rows), squeeze=False, sharex=True, sharey=True
    )
    first_results = next(iter(runs.values()))[0]
    for col, dataset in enumerate(datasets):
        real = first_results.get(dataset, {}).get("data")
        if real is not None:
            axes[0][col].scatter(real[:, 0], real[:, 1], s=1, alpha=0.5, color="gray")
        axes[0][col].set_title(dataset)
        for row, (results, info) in enumerate(runs.values(), start=1):
            ax = axes[row][col]
            if dataset in results:
                points = results[dataset]["samples"]
                ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.5)
                kl = info.get(dataset, {}).get("means", {}).get("kl_divergence")
                if kl is not None:
                    ax.text(0.03, 0.95, f"KL={kl:.3f}", transform=ax.transAxes, va="top", fontsize=8)
    axes[0][0].set_ylabel("real data")
    for row, run in enumerate(runs, start=1):
        axes[row][0].set_ylabel(labels.get(run, run))
    for ax in axes.flat:
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig("generated_samples.png", dpi=120)
    plt.close(fig)


def main():
    runs = load_runs()
    if not runs:
        raise SystemExit("no run_*/all_results.npy found in the current directory")
    datasets = []
    for results, _ in runs.values():
        datasets += [d for d in results if d not in datasets]
    plot_train_loss(runs, datasets)
    plot_samples(runs, datasets)


if __name__ == "__main__":
    main()
