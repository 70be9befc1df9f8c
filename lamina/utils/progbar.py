"""``Progbar``: the text progress bar of ``fit``/``evaluate``/``predict`` (``keras.utils.Progbar``).

Output looks like Keras 3's::

    32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.5000 - loss: 0.6931

With ``verbose=1`` on a terminal (or in a notebook) the line is redrawn in
place with ``\\r`` at most every ``interval`` seconds and once more when the
bar is finalized. When stdout is not a terminal (a log file, a pipe) nothing
is written per step: one plain line (no colour codes) is written when the bar
is finalized. ``verbose=2`` writes one line, without the bar, when finalized.

Metric values handed to ``update`` may be a Mapping whose values are computed
on demand; values of stateful metrics (shown as given, not averaged) are read
only when a line is actually drawn.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from lamina.utils.io_utils import print_msg

# Looked up at call time so tests can substitute a fake clock.
_now = time.time

_BOLD, _GREEN, _WHITE, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"
_BAR_CHAR = "\u2501"  # "━"


def dynamic_display() -> bool:
    """Whether stdout redraws lines in place: a terminal, or a Jupyter kernel."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        if callable(isatty) and isatty():
            return True
    except ValueError:  # a closed stream
        return False
    return "ipykernel" in sys.modules


def _format_eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int((seconds % 3600) // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_time_per_unit(seconds: float, unit_name: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_value(total: Any, count: int, signed: bool) -> str:
    """The displayed average ``total / count``: 4 decimals, or scientific when tiny.
    ``signed``: compare the magnitude (verbose=1) rather than the value (verbose=2)
    with the threshold, as Keras does."""
    try:
        if not isinstance(total, float):
            total = float(np.mean(np.asarray(total, dtype=np.float64)))
    except (TypeError, ValueError):
        return f"{total}"
    avg = total / max(1, count)
    if (abs(avg) if signed else avg) > 1e-3:
        return f"{avg:.4f}"
    return f"{avg:.4e}"


class Progbar:
    """A text progress bar.

    Args:
        target: the total number of steps expected, or None if unknown.
        width: the width of the bar, in characters.
        verbose: 0 (silent), 1 (live bar) or 2 (one line when finalized).
        interval: the least number of seconds between two redraws of the live bar.
        stateful_metrics: names of metrics shown as given (not averaged over
            steps). When neither this nor ``stateless_metrics`` is given, every
            metric is averaged by the bar.
        stateless_metrics: names of metrics that are averaged by the bar; when
            given, every other metric is shown as given. Do not pass both.
        unit_name: what one step is called in the time-per-step display.
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 stateless_metrics: Iterable[str] | None = None, unit_name: str = "step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be "
                             "provided. Received both.")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateful_metrics is not None:
            self.stateful_metrics: set | None = set(stateful_metrics)
            self.stateless_metrics: set | None = None
        elif stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set()
            self.stateless_metrics = None
        self._dynamic_display = dynamic_display()
        self._seen_so_far = 0
        self._values: dict[str, list] = {}  # name -> [total, count]
        self._values_order: list[str] = []
        # The latest Mapping of (all stateful) values, not read yet.
        self._pending_source: Mapping | None = None
        self._start = _now()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def _is_stateless(self, name: str) -> bool:
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current: int, values: Mapping | Iterable | None = None,
               finalize: bool | None = None) -> None:
        """Moves the bar to step ``current``.

        Args:
            current: the index of the current step (1-based count of steps done).
            values: the metric values for this step: a Mapping (whose values are
                read only when needed) or a list of ``(name, value)`` pairs.
                Stateless metrics are averaged over steps; stateful ones are
                shown as given.
            finalize: whether this is the last update; None means
                ``current >= target`` (never, when the target is unknown).
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        if values is not None:
            # Newer values replace any not read yet.
            self._pending_source = None
        self._record(current, values, finalize)
        self._seen_so_far = current
        now = _now()
        time_per_unit = self._step_duration(current, now)

        if self.verbose == 1:
            if not finalize and (not self._dynamic_display
                                 or now - self._last_update < self.interval):
                return
            self._draw_live(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            self._resolve_pending()
            digits = int(math.log10(self.target)) + 1
            line = (f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s - "
                    f"{_format_time_per_unit(time_per_unit, self.unit_name)}")
            line += self._metrics_text(signed=False)
            print_msg(line + "\n", line_break=False)
        self._last_update = now

    def add(self, n: int, values: Mapping | Iterable | None = None) -> None:
        """Advances the bar by ``n`` steps (see ``update`` for ``values``)."""
        self.update(self._seen_so_far + n, values)

    # ---- internals ----------------------------------------------------------------

    def _record(self, current: int, values, finalize: bool) -> None:
        if values is None:
            return
        if isinstance(values, Mapping):
            if self.stateless_metrics is not None and not self.stateless_metrics:
                # Every metric is shown as given: keep the Mapping and read it (even
                # its keys, which may cost a device sync) only if a line is drawn.
                self._pending_source = values
                return
            values = list(values.items())
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            if not self._is_stateless(name):
                self._values[name] = [value, 1]
                continue
            if finalize:
                # The final value is already an aggregate over the whole run.
                self._values[name] = [value, 1]
            else:
                # Weight by the steps since the last update (at least one).
                steps = max(current - self._seen_so_far, 1)
                if name in self._values:
                    self._values[name][0] += value * steps
                    self._values[name][1] += steps
                else:
                    self._values[name] = [value * steps, steps]

    def _resolve_pending(self) -> None:
        source, self._pending_source = self._pending_source, None
        if source is not None:
            self._record(self._seen_so_far, list(source.items()), finalize=False)

    def _metrics_text(self, signed: bool) -> str:
        return "".join(f" - {name}: {_format_value(*self._values[name], signed)}"
                       for name in self._values_order if name in self._values)

    def _draw_live(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        self._resolve_pending()
        styled = self._dynamic_display
        bold = (lambda s: f"{_BOLD}{s}{_RESET}") if styled else (lambda s: s)
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            done = min(int(self.width * float(current) / self.target), self.width)
            done = max(done, 0)
            plain_bar = f"{count} {_BAR_CHAR * self.width}"
            if styled:
                bar = f"{bold(count)} "
                if done > 0:
                    bar += f"{_GREEN}{_BAR_CHAR * done}{_RESET}"
                bar += f"{_WHITE}{_BAR_CHAR * (self.width - done)}{_RESET}"
            else:
                bar = plain_bar
        else:
            bar = plain_bar = f"{current:7d}/Unknown"

        if self.target is not None and self.target > 0 and not finalize:
            clock = _format_eta(time_per_unit * (self.target - current))
        else:
            clock = f"{now - self._start:.0f}s"
        rest = f" {_format_time_per_unit(time_per_unit, self.unit_name)}"
        rest += self._metrics_text(signed=True)
        line = f"{bar} {bold(clock)}{rest}"
        total_width = len(plain_bar) + 1 + len(clock) + len(rest)

        if styled:
            # Overwrite the previous line; pad with spaces if it was longer.
            message = "\r" + line + " " * max(self._prev_total_width - total_width, 0)
            if finalize:
                message += "\n"
        else:
            message = line + "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = total_width

    def _step_duration(self, current: int, now: float) -> float:
        """Seconds per step so far, leaving out the (compile-heavy) first step once
        there are others to go by."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
