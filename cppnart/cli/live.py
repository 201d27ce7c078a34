"""One progress component for long work: training steps, latent fits, probes, data drawing, renders.

    with LiveView("train glyph · glyph-64 → runs/glyphs", total=5000, start=step) as view:
        run_steps(step_fn, ..., on_metrics=view.update)
        view.note("wrote samples/step-000500.png")

    with counted(30000, "rendering 30000x30000", show=True, unit="row") as advance:
        ...; advance(rows_done_now)

On a terminal it is a rich ``Progress`` bar with the work's own columns: count, speed, the
latest metrics (loss first) and the time left. Elsewhere (a pipe, a log file, CI) it writes
plain lines to stderr, paced so logs stay short: one when another 10% is done or 30 s have
passed, and one at the end,

    step 1200/5000 (24%) 5.3 steps/s loss 0.0123 eta 12m

but nothing for work that ends within 5 s (except a training run's last line). ``quiet``
silences both. Metrics keep their last value, so a metric computed only every K
steps (R², cosine) stays visible in between.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
)
from rich.table import Column
from rich.text import Text

# Plain lines: a share of the work or a heartbeat, whichever comes first. Work that ends within
# QUIET_FOR_S seconds (a small grid, a short render, a few tiles) prints nothing at all off a
# terminal, so scripts and logs of quick commands stay as they were.
LINE_EVERY_SHARE = 0.10
LINE_EVERY_S = 30.0
QUIET_FOR_S = 5.0
# Characters of the bar's row besides the metrics (' ━━━╸  step 1200/5000  24% 5.26 steps/s  eta
# 1h05m' and spare): the metrics get the rest of the terminal's width, so the row never wraps.
BAR_ROW_WITHOUT_METRICS = 66


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def eta_text(seconds: float) -> str:
    """A short time: '45s', '1m30s', '12m', '2h05m'; '?' when unknown.

    >>> eta_text(45.2), eta_text(90), eta_text(725), eta_text(7500), eta_text(float("nan"))
    ('45s', '1m30s', '12m', '2h05m', '?')
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 59.5:
        return f"{seconds:.0f}s"
    if seconds < 600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}m{rest:02d}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    hours, minutes = divmod(int(seconds // 60), 60)
    return f"{hours}h{minutes:02d}m"


def metrics_text(metrics: dict[str, Any], room: int | None = None) -> str:
    """'loss 0.0123 r2 0.91 ...': the loss first, then the others in the order they came; with
    ``room``, only the metrics that fit in that many characters.

    >>> metrics_text({"lr": 0.001, "loss": 0.0123}), metrics_text({"loss": 0.0123, "lr": 0.001}, room=12)
    ('loss 0.0123 lr 0.001', 'loss 0.0123')
    """
    keys = sorted(metrics, key=lambda k: k != "loss")
    shown: list[str] = []
    for key in keys:
        part = f"{key} {_fmt(metrics[key])}"
        if room is not None and len(" ".join([*shown, part])) > room:
            break
        shown.append(part)
    return " ".join(shown)


def _rate(rate: float, unit: str) -> str:
    """'5.26 steps/s', or '120/s' for work without a unit name."""
    return f"{rate:.3g} {unit}s/s" if unit else f"{rate:.3g}/s"


class _Speed(ProgressColumn):
    """'5.31 steps/s' from rich's own moving estimate of the task's speed."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else _rate(speed, task.fields.get("unit", "")), style="progress.data.speed")


class _Eta(ProgressColumn):
    """'eta 12m' as the plain lines write it, from rich's estimate of the time left."""

    def render(self, task: Task) -> Text:
        left = task.time_remaining
        return Text(f"eta {eta_text(math.nan if left is None else left)}", style="progress.remaining")


class LiveView:
    """Progress of ``total`` steps (from ``start``): a rich bar on a terminal, paced plain lines elsewhere.

    ``update(step, metrics)`` after every step; ``note(text)`` for events (a sample sheet, a
    checkpoint), shown above the bar on a terminal. ``header``: the title on a line of its own
    above the bar (else in the bar's row and in front of every plain line); ``always_final``: a
    last plain line even for work that ended within a few seconds (a run's final loss);
    ``transient``: the bar disappears when done; ``clock``: the time source (seconds).
    """

    def __init__(
        self,
        title: str,
        total: int,
        start: int = 0,
        *,
        console: Console | None = None,
        refresh_per_second: float = 4.0,
        quiet: bool = False,
        unit: str = "step",
        header: bool = True,
        always_final: bool = True,
        transient: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title, self.total, self.start, self.unit, self.quiet = title, total, start, unit, quiet
        self.header, self.always_final, self.transient = header, always_final, transient
        self.console = console or Console(stderr=True)
        self.interactive = (self.console.is_terminal or self.console.is_jupyter) and not quiet
        self.refresh_per_second = refresh_per_second
        self.metrics: dict[str, Any] = {}
        self.notes: list[str] = []
        self.step = start
        self._clock = clock
        self._t0 = clock()
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_line: tuple[float, int] | None = None  # (time, step) of the last plain line

    # --- context -------------------------------------------------------------------------------
    def __enter__(self) -> LiveView:
        self._t0 = self._clock()
        if self.interactive:
            self._progress = Progress(
                *self.columns(),
                console=self.console,
                refresh_per_second=self.refresh_per_second,
                transient=self.transient,
                get_time=self._clock,
            )
            self._progress.start()
            if self.header:
                self._progress.console.print(self.title, highlight=False, markup=False)
            description = "" if self.header else self.title
            self._task = self._progress.add_task(
                description, total=self.total, completed=self.start, unit=self.unit, metrics=""
            )
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._progress.stop()
            self._progress = None
            return
        if exc[0] is not None:
            return  # an error or a stop: its own one line says what happened, not a progress line
        if self.quiet or self.step == self.start or (self._last_line is not None and self._last_line[1] == self.step):
            return  # nothing done, or its line is out already
        if self.always_final or self._last_line is not None or self.elapsed >= QUIET_FOR_S:
            self._print_line()  # a run's last line: its final loss and speed, even for a short run

    @staticmethod
    def columns() -> tuple[ProgressColumn, ...]:
        """The bar's columns: description, bar, 'step 1200/5000', '24%', speed, metrics, 'eta 12m'."""
        return (
            TextColumn("{task.description}"),
            BarColumn(bar_width=16),
            TextColumn("{task.fields[unit]} {task.completed:.0f}/{task.total:.0f}", table_column=Column(no_wrap=True)),
            TaskProgressColumn(table_column=Column(no_wrap=True)),
            _Speed(table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[metrics]}", table_column=Column(no_wrap=True)),
            _Eta(table_column=Column(no_wrap=True)),
        )

    # --- updates -------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the work started."""
        return self._clock() - self._t0

    @property
    def steps_per_second(self) -> float:
        """The mean rate since the start (plain lines; the bar uses rich's moving estimate)."""
        elapsed = self.elapsed
        return (self.step - self.start) / elapsed if elapsed > 0 else 0.0

    def update(self, step: int, metrics: dict[str, Any] | None = None) -> None:
        """New values: the bar moves on a terminal; elsewhere a plain line when one is due."""
        self.step = step
        self.metrics.update(metrics or {})
        if self._progress is not None:
            room = self.console.width - BAR_ROW_WITHOUT_METRICS
            self._progress.update(self._task, completed=step, metrics=metrics_text(self.metrics, room))
        else:
            self.echo(step)

    def advance(self, count: int = 1) -> None:
        """``count`` more items done (for work that counts pieces rather than reporting a step)."""
        self.update(self.step + count)

    def echo(self, step: int) -> None:
        """Off a terminal, one plain line if one is due (another 10% done, or 30 s since the last)."""
        if self._progress is not None or self.quiet:
            return
        now = self._clock()
        if now - self._t0 < QUIET_FOR_S:
            return
        last_time, last_step = self._last_line or (self._t0, self.start)
        share = (step - last_step) / self.total if self.total > 0 else 0.0
        if share >= LINE_EVERY_SHARE or now - last_time >= LINE_EVERY_S:
            self._print_line()

    def note(self, text: str) -> None:
        """A message about an event (sample sheet, checkpoint): printed above the bar on a terminal."""
        self.notes = (self.notes + [text])[-3:]
        if self._progress is not None:
            self._progress.console.print(f"[dim]{text}[/dim]", highlight=False)

    def line(self) -> str:
        """The plain form: 'step 1200/5000 (24%) 5.3 steps/s loss 0.0123 eta 12m'."""
        rate = self.steps_per_second
        share = self.step / self.total if self.total > 0 else 1.0
        eta = (self.total - self.step) / rate if rate > 0 else math.nan
        parts = [
            "" if self.header else f"{self.title}: ",
            f"{self.unit} " if self.unit else "",
            f"{self.step}/{self.total} ({100 * share:.0f}%) {_rate(rate, self.unit)}",
            f" {metrics_text(self.metrics)}" if self.metrics else "",
            f" eta {eta_text(eta)}" if self.step < self.total else f" in {eta_text(self.elapsed)}",
        ]
        return "".join(parts)

    def _print_line(self) -> None:
        self.console.print(self.line(), highlight=False, markup=False, soft_wrap=True)
        self._last_line = (self._clock(), self.step)


@contextmanager
def counted(
    total: int,
    description: str,
    show: bool,
    unit: str = "",
    console: Console | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Callable[[int], None]]:
    """Progress of ``total`` pieces of work (rows, tiles, frames, digits): yields ``advance(n)``.

    A bar on a terminal, paced plain lines elsewhere once the work has run a few seconds,
    nothing when ``show`` is false.
    """
    if not show:
        yield lambda n: None
        return
    view = LiveView(
        description, total, unit=unit, console=console, header=False, always_final=False, transient=True, clock=clock
    )
    with view:
        yield view.advance


@contextmanager
def drawing_progress(show: bool) -> Iterator[None]:
    """Inside, a first draw of ``builtin:digits`` (~4 ms a digit: 80 s for 20,000 on a busy
    machine, then cached) shows its progress like any other long work; a cached set shows nothing."""
    from ..io.digits import reporting_progress

    if not show:
        yield
        return
    current: list[LiveView] = []  # the draw under way (each draw of a set gets its own line)

    def report(done: int, total: int) -> None:
        if not current:
            title = f"drawing {total} builtin digits (once; cached after)"
            current.append(LiveView(title, total, unit="digit", header=False, always_final=False).__enter__())
        current[0].update(done)
        if done >= total:
            current.pop().__exit__(None, None, None)

    try:
        with reporting_progress(report):
            yield
    finally:
        if current:
            current.pop().__exit__(None, None, None)
