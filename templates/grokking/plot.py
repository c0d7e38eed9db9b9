"""Plot the runs in the current directory: accuracy and loss over training steps, per task.

Reads run_*/all_results.npy; writes val_acc.png, train_acc.png, val_loss.png, train_loss.png, and
grokking_curves.png (train and validation accuracy of every run together, one panel per task).
Only the runs named in `labels` are plotted (in that order); add an entry for every new run.
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

# Run folder -> legend label. Edit this when you add runs.
labels = {
    "run_0": "Baseline",
}


def load_runs():
    chosen = [r for r in labels if pathlib.Path(r, "all_results.npy").exists()]
    if not chosen:  # nothing labelled yet: fall back to every run folder present
        chosen = sorted(str(p.parent) for p in pathlib.Path(".").glob("run_*/all_results.npy"))
    return {run: np.load(pathlib.Path(run, "all_results.npy"), allow_pickle=True).item() for run in chosen}


def task_names(runs):
    names = []
    for results in runs.values():
        names += [t for t in results if t not in names]
    return names


def plot_metric(runs, tasks, key, ylabel, filename, log_y=False):
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes[0], tasks, strict=True):
        for i, (run, results) in enumerate(runs.items()):
            if task in results:
                history = results[task]
                ax.plot(history["steps"], history[key], color=colors[i % len(colors)], label=labels.get(run, run))
        ax.set_title(task)
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(filename, dpi=150)
    plt.close(fig)


def plot_grokking(runs, tasks):
    """Train (dashed) and validation (solid) accuracy together: the gap between them is grokking."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes[0], tasks, strict=True):
        for i, (run, results) in enumerate(runs.items()):
            if task not in results:
                continue
            history, color = results[task], colors[i % len(colors)]
            ax.plot(history["steps"], history["train_acc"], "--", color=color, alpha=0.7)
            ax.plot(history["steps"], history["val_acc"], "-", color=color, label=labels.get(run, run))
        ax.axhline(0.99, color="gray", lw=0.8, ls=":")
        ax.set_title(f"{task} (dashed: train, solid: val)", fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig("grokking_curves.png", dpi=150)
    plt.close(fig)


def main():
    runs = load_runs()
    if not runs:
        raise SystemExit("no run_*/all_results.npy found in the current directory")
    tasks = task_names(runs)
    plot_metric(runs, tasks, "val_acc", "validation accuracy", "val_acc.png")
    plot_metric(runs, tasks, "train_acc", "training accuracy", "train_acc.png")
    plot_metric(runs, tasks, "val_loss", "validation loss", "val_loss.png", log_y=True)
    plot_metric(runs, tasks, "train_loss", "training loss", "train_loss.png", log_y=True)
    plot_grokking(runs, tasks)


if __name__ == "__main__":
    main()
