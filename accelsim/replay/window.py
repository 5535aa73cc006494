"""The interactive replay window: a ReplayView driven by play/pause, speed and seek widgets, the
only part of the replay that goes through pyplot."""

from __future__ import annotations

import os
import sys

import matplotlib

from accelsim.replay.view import ReplayView
from accelsim.trace.trace import Trace

_NON_INTERACTIVE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


class Player:
    """Widgets and a timer driving a ReplayView: play/pause, speed, seek. Kept apart from the
    view so that the view stays testable without a display."""

    TICK_MS = 50

    def __init__(self, view: ReplayView) -> None:
        from matplotlib.widgets import Button, Slider

        self.view = view
        fig = view.fig
        self.playing = False
        self.seek = Slider(
            fig.add_axes((0.085, 0.055, 0.5, 0.03)),
            "cycle",
            view.start,
            view.stop - 1,
            valinit=view.start,
            valstep=1,
            valfmt="%d",
        )
        self.speed = Slider(fig.add_axes((0.67, 0.055, 0.12, 0.03)), "speed", 0.1, 10.0, valinit=1.0, valfmt="%.1fx")
        self.button = Button(fig.add_axes((0.84, 0.045, 0.08, 0.05)), "play")
        self.seek.on_changed(self._seek)
        self.button.on_clicked(self._toggle)
        view.follow_zoom()
        self.timer = fig.canvas.new_timer(interval=self.TICK_MS)
        self.timer.add_callback(self._tick)
        self.timer.start()

    def _seek(self, value: float) -> None:
        self.view.set_cursor(int(value))
        self.view.fig.canvas.draw_idle()

    def _toggle(self, _event: object = None) -> None:
        self.playing = not self.playing
        self.button.label.set_text("pause" if self.playing else "play")
        self.view.fig.canvas.draw_idle()

    def _tick(self) -> None:
        if not self.playing:
            return
        lo, hi = self.view.ax_lanes.get_xlim()
        # At 1x the cursor crosses the visible window in 20 s, whatever the zoom.
        step = max(1, int((hi - lo) * self.speed.val * self.TICK_MS / 20_000))
        cycle = min(self.view.cycle + step, self.view.stop - 1)
        if cycle >= hi:  # page the zoomed window along with the cursor
            width = hi - lo
            new_lo = min(cycle, self.view.stop - width)
            self.view.ax_lanes.set_xlim(new_lo, new_lo + width)
        if cycle >= self.view.stop - 1:
            self._toggle()
        self.seek.set_val(cycle)


def show(trace: Trace, start: int = 0, stop: int | None = None) -> None:
    """Open the interactive replay window: play/pause, speed and seek; zooming with the
    toolbar re-aggregates exactly, down to per-cycle values."""
    import matplotlib.pyplot as plt

    view = ReplayView(trace, start, stop, figure=plt.figure(figsize=(13, 9)), controls=True)
    player = Player(view)
    view.fig._accelsim_player = player  # keep the widgets alive as long as the window
    plt.show()


def has_display() -> bool:
    """Whether matplotlib can open a window here (an interactive backend, and a display on X11)."""
    backend = matplotlib.get_backend().lower()
    if backend in _NON_INTERACTIVE_BACKENDS or backend.startswith("module://matplotlib_inline"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
