"""A live view of training: step, rate, loss and metrics; quiet plain lines when not a terminal.

    with LiveView("glyph-64", total=5000, start=step) as view:
        run_steps(step_fn, ..., on_metrics=view.update, every=[Every(500, view.echo)])
        view.note("wrote samples/step-000500.png")

On a terminal it is a rich ``Live`` table redrawn a few times a second. Elsewhere (pipes, CI,
tests) it stays quiet except for ``echo(step)``, which prints one plain line to stderr: run it
as a periodic action (``Every(500, view.echo)``) so logs stay short. Metrics keep their last
value, so a metric computed only every K steps (R², cosine) stays visible in between.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


class LiveView:
    def __init__(
        self,
        title: str,
        total: int,
        start: int = 0,
        *,
        console: Console | None = None,
        refresh_per_second: float = 4.0,
        quiet: bool = False,
    ) -> None:
        self.title = title
        self.quiet = quiet
        self.total = total
        self.start = start
        self.console = console or Console(stderr=True)
        self.interactive = self.console.is_terminal and not quiet
        self.refresh_per_second = refresh_per_second
        self.metrics: dict[str, Any] = {}
        self.notes: list[str] = []
        self.step = start
        self._t0 = time.perf_counter()
        self._live: Live | None = None

    # --- context -------------------------------------------------------------------------------
    def __enter__(self) -> LiveView:
        self._t0 = time.perf_counter()
        if self.interactive:
            self._live = Live(
                self._table(), console=self.console, refresh_per_second=self.refresh_per_second, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(*exc)
            self._live = None

    # --- updates -------------------------------------------------------------------------------
    @property
    def steps_per_second(self) -> float:
        elapsed = time.perf_counter() - self._t0
        return (self.step - self.start) / elapsed if elapsed > 0 else 0.0

    def update(self, step: int, metrics: dict[str, Any] | None = None) -> None:
        """New values (redrawn on a terminal; printed only by ``echo``)."""
        self.step = step
        self.metrics.update(metrics or {})
        if self._live is not None:
            self._live.update(self._table())

    def echo(self, step: int) -> None:
        """One plain line with the current values when not on a terminal (use as an ``Every`` action)."""
        if self._live is None and not self.quiet:
            values = "  ".join(f"{k} {_fmt(v)}" for k, v in self.metrics.items())
            self.console.print(
                f"step {step}/{self.total}  {self.steps_per_second:.2f} steps/s  {values}",
                highlight=False,
                soft_wrap=True,
            )

    def note(self, text: str) -> None:
        """A message about an event (sample sheet, checkpoint); the last few stay on screen."""
        self.notes = (self.notes + [text])[-3:]
        if self._live is not None:
            self._live.update(self._table())

    def _table(self) -> Table:
        table = Table(title=self.title, show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        rate = self.steps_per_second
        remaining = (self.total - self.step) / rate if rate > 0 else float("nan")
        table.add_row("step", f"{self.step} / {self.total}")
        table.add_row("speed", f"{rate:.2f} steps/s" + (f", {remaining / 60:.1f} min left" if rate > 0 else ""))
        for key, value in self.metrics.items():
            table.add_row(key, _fmt(value))
        for text in self.notes:
            table.add_row("", f"[dim]{text}[/dim]")
        return table
