"""A live view of training: step, rate, loss and metrics; quiet plain lines when not a terminal.

    with LiveView("glyph-64", total=5000, start=step) as view:
        run_steps(step_fn, ..., on_metrics=view.update)
        view.note("wrote samples/step-000500.png")

On a terminal it is a rich ``Live`` table redrawn a few times a second. Elsewhere (pipes, CI,
tests) it prints one plain line every ``plain_every`` steps (and on the last step) to stderr,
so logs stay short. Metrics keep their last value, so a metric computed only every K steps
(R², cosine) stays visible in between.
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
    def __init__(self, title: str, total: int, start: int = 0, *, console: Console | None = None,
                 plain_every: int = 100, refresh_per_second: float = 4.0) -> None:
        self.title = title
        self.total = total
        self.start = start
        self.console = console or Console(stderr=True)
        self.interactive = self.console.is_terminal
        self.plain_every = max(1, plain_every)
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
            self._live = Live(self._table(), console=self.console, refresh_per_second=self.refresh_per_second,
                              transient=False)
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
        self.step = step
        self.metrics.update(metrics or {})
        if self._live is not None:
            self._live.update(self._table())
        elif step % self.plain_every == 0 or step == self.total:
            values = "  ".join(f"{k} {_fmt(v)}" for k, v in self.metrics.items())
            self.console.print(f"step {step}/{self.total}  {self.steps_per_second:.2f} steps/s  {values}",
                               highlight=False, soft_wrap=True)

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
