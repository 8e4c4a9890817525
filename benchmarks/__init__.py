"""swapgym.benchmarks — the runner, scores, reports, plots, speed benchmarks and the
paper reproductions. ``evaluate`` is the one entry point for scoring a policy."""

from swapgym.benchmarks.runner import evaluate

__all__ = ["evaluate"]
