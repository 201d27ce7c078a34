"""`cppnart sweep SPEC.toml`: a grid of training runs, here or on a Ray cluster, and their table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cluster import check_cluster
from .options import ClusterFlags, TorchFlags, option_groups
from .output import emit, stop_note, user_errors

app = typer.Typer()


def _columns(results: list[dict[str, Any]]) -> list[str]:
    """Every key any run reports, in the order they first appear."""
    columns: list[str] = []
    for result in results:
        columns += [key for key in result if key not in columns]
    return columns


def summary_table(results: list[dict[str, Any]], title: str) -> Any:
    """A rich table: one row per run, the columns every run reports. Numbers are never cut: their
    columns keep their full width and the text columns fold onto more lines instead."""
    from rich.table import Table

    columns = _columns(results)
    table = Table(title=title)
    for key in columns:
        cells = [_cell(r.get(key)) for r in results]
        text = key in ("run", "preset") or not all(_is_number(r.get(key)) for r in results)
        width = max([len(key), *map(len, cells)])
        table.add_column(
            key,
            justify="left" if text else "right",
            overflow="fold",
            min_width=None if text else width,
            no_wrap=not text,
        )
    for result in results:
        table.add_row(*[_cell(result.get(key)) for key in columns])
    return table


def summary_tsv(results: list[dict[str, Any]]) -> str:
    """The same table as tab-separated lines, header first: what a pipe gets."""
    columns = _columns(results)
    lines = ["\t".join(columns)] + ["\t".join(_cell(r.get(key)) for key in columns) for r in results]
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@app.command(epilog="Example: cppnart sweep sweep.toml --out sweeps/lr --cluster auto")
@user_errors
@option_groups
def sweep(
    spec: Annotated[Path, typer.Argument(help="Sweep spec .toml: presets, seeds, [overrides] (see the README).")],
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Sweep folder, one run folder inside per run. \\[default: sweeps/SPEC]"),
    ] = None,
    cluster: ClusterFlags = ClusterFlags(),
    flags: TorchFlags = TorchFlags(),
) -> None:
    """Train a grid of runs (presets x seeds x overrides); finished runs are skipped, so it resumes.

    A grid of more than 10000 runs is refused before it is planned (CPPNART_MAX_RUNS raises the limit).
    """
    from .train import require_torch

    check_cluster(cluster.cluster, cluster.cluster_timeout)
    from ..train.sweep import load_spec, plan_runs, write_summary

    out = out or Path("sweeps") / spec.stem
    runs = plan_runs(load_spec(spec), out)
    require_torch(flags.threads)
    fresh = not out.exists()
    try:
        results = train_all(runs, out, cluster, flags)
    except BaseException as exc:
        failed_sweep(exc, runs, out, fresh)
        raise
    ordered = [results[run.name] for run in runs]
    summary = write_summary(out, ordered)
    best = best_run(runs, ordered)
    if flags.as_json:
        emit({"out": str(out), "summary": str(summary), "runs": ordered, "best": best}, "", as_json=True)
    elif not flags.quiet:
        from rich.console import Console

        console = Console()
        if console.is_terminal:
            console.print(summary_table(ordered, f"{len(runs)} runs in {out}"))
        else:  # piped: plain TSV, every number whole
            typer.echo(summary_tsv(ordered))
        typer.echo(f"summary: {summary}")
        if best is not None:
            typer.echo(f"best: {best}")


def train_all(runs: list[Any], out: Path, cluster: ClusterFlags, flags: TorchFlags) -> dict[str, dict[str, Any]]:
    """Every run's result by name: trained here one after another, or on the cluster."""
    from ..train.sweep import run_sweep

    results: dict[str, dict[str, Any]] = {}
    say = (lambda text: None) if flags.silent else (lambda text: typer.echo(text, err=True))

    def collect(stream: Any) -> None:
        for run, result, fresh in stream:
            results[run.name] = result
            say(f"[{len(results)}/{len(runs)}] {run.name}: {'done' if fresh else 'already finished'}")

    if cluster.cluster is None:
        collect(run_sweep(runs, out, device=flags.device.value, threads=flags.threads))
        return results
    from ..cluster.connect import connected
    from ..cluster.jobs import run_unordered

    with connected(
        cluster.cluster, timeout=cluster.cluster_timeout, verbose=cluster.verbose, exit_on_stop=True
    ) as where:
        say(f"cluster: {where}")
        # One CPU per run and one torch thread each: the cluster runs as many runs as it has CPUs.
        collect(run_sweep(runs, out, run_unordered, device=flags.device.value, threads=flags.threads or 1))
    return results


def failed_sweep(exc: BaseException, runs: list[Any], out: Path, fresh: bool) -> None:
    """A sweep that stopped: say what it kept (finished runs, checkpoints to resume from) and exit
    128 + the signal on Ctrl-C or SIGTERM (a run here checkpoints first; tasks on a cluster are
    cancelled), or 2 with one line on a user error in a run or a fault of the machine (a full
    disk). Other errors go on."""
    from ..train.loop import Interrupted
    from ..train.sweep import what_was_kept
    from .output import fail, system_error

    if fresh and out.is_dir() and not any(out.iterdir()):
        out.rmdir()  # the sweep made this folder and nothing came of it
    if isinstance(exc, (Interrupted, KeyboardInterrupt)):
        signum = getattr(exc, "signum", 2)
        typer.echo(f"{stop_note(signum)}; {what_was_kept(runs, out)}", err=True)
        raise typer.Exit(128 + signum) from None
    from ..errors import ParamError, UserError

    message = str(exc) if isinstance(exc, UserError) and not isinstance(exc, ParamError) else system_error(exc)
    if message is not None:  # said here, with what the sweep kept instead of the generic ending
        fail(f"{message.split(' (nothing was left behind)')[0]}; {what_was_kept(runs, out)}")


def best_run(runs: list[Any], results: list[dict[str, Any]]) -> Optional[str]:
    """'NAME (metric V)' of the best run by its family's sweep score, when every run is of one family."""
    from ..train.families import FAMILIES

    kinds = {run.kind for run in runs}
    if len(kinds) != 1:
        return None
    metric, higher = FAMILIES[kinds.pop()].score
    scored = [r for r in results if isinstance(r.get(metric), (int, float))]
    if not scored:
        return None
    best = (max if higher else min)(scored, key=lambda r: r[metric])
    return f"{best['run']} ({metric} {best[metric]:.4g})"
