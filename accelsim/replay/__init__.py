"""Replay of a trace: exact per-pixel-column views, a summary PNG, GIF/MP4 export and a window.

One module per job: `model` (exact per-column aggregation and what the cursor shows, no
drawing), `drawing` (styles, panels, legends, the summary PNG), `vector` (the vector unit's
figures and panel), `view` (the replay figure), `exports` (GIF / MP4) and `window` (the
interactive player). The `accelsim replay` command
lives with the other commands in `accelsim.cli`.
"""

from accelsim.replay.drawing import summary_png
from accelsim.replay.exports import export_animation
from accelsim.replay.model import (
    ReplayModel,
    StateFractions,
    aggregate,
    state_fractions,
    value_at,
    value_fractions,
)
from accelsim.replay.vector import VectorSummary, vector_summary
from accelsim.replay.view import ReplayView
from accelsim.replay.window import has_display, show

__all__ = [
    "ReplayModel",
    "ReplayView",
    "StateFractions",
    "VectorSummary",
    "aggregate",
    "export_animation",
    "has_display",
    "show",
    "state_fractions",
    "summary_png",
    "value_at",
    "value_fractions",
    "vector_summary",
]
