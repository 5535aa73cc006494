"""Studies: configurations of compression evaluated on networks and accelerators."""

from accelsim.study.evaluate import Configuration, Evaluation, Result, best, evaluate

__all__ = ["Configuration", "Evaluation", "Result", "best", "evaluate"]
