"""`cppnart sweep SPEC.toml`: a grid of training runs, here or on a Ray cluster, and their table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cluster import check_cluster
from .options import ClusterFlags, TorchFlags, option_groups
from .output import emit, user_errors

app = typer.Typer()


def summary_table(results: list[dict[str, Any]], title: str) -> Any:
    """A rich table: one row per run, the columns every run reports."""
    from rich.table import Table

    columns: list[str] = []
    for result in results:
        columns += [key for key in result if key not in columns]
    table = Table(title=title)
    for key in columns:
        table.add_column(key, justify="left" if key in ("run", "preset") else "right", no_wrap=key == "run")
    for result in results:
        table.add_row(*[_cell(result.get(key)) for key in columns])
    return table


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
    """Train a grid of runs (presets x seeds x overrides); finished runs are skipped, so it resumes."""
    from .train import require_torch

    check_cluster(cluster.cluster, cluster.cluster_timeout)
    from ..train.sweep import load_spec, plan_runs, run_sweep, write_summary

    out = out or Path("sweeps") / spec.stem
    runs = plan_runs(load_spec(spec), out)
    require_torch(flags.threads)
    results: dict[str, dict[str, Any]] = {}
    say = (lambda text: None) if flags.silent else (lambda text: typer.echo(text, err=True))

    def collect(stream: Any) -> None:
        for run, result, fresh in stream:
            results[run.name] = result
            say(f"[{len(results)}/{len(runs)}] {run.name}: {'done' if fresh else 'already finished'}")

    from ..train.loop import Interrupted

    try:
        if cluster.cluster is None:
            collect(run_sweep(runs, out, device=flags.device.value, threads=flags.threads))
        else:
            from ..cluster.connect import connected
            from ..cluster.jobs import run_unordered

            timeout, verbose = cluster.cluster_timeout, cluster.verbose
            with connected(cluster.cluster, timeout=timeout, verbose=verbose, exit_on_stop=True) as where:
                say(f"cluster: {where}")
                # One CPU per run and one torch thread each: the cluster runs as many runs as it has CPUs.
                collect(run_sweep(runs, out, run_unordered, device=flags.device.value, threads=flags.threads or 1))
    except (Interrupted, KeyboardInterrupt):  # a run here checkpoints first; tasks on a cluster are cancelled
        typer.echo(
            f"interrupted; {len(results)} of {len(runs)} runs finished. Run the same command again to go on.",
            err=True,
        )
        raise typer.Exit(130) from None
    ordered = [results[run.name] for run in runs]
    summary = write_summary(out, ordered)
    if flags.as_json:
        emit({"out": str(out), "summary": str(summary), "runs": ordered}, "", as_json=True)
    elif not flags.quiet:
        from rich.console import Console

        Console().print(summary_table(ordered, f"{len(runs)} runs in {out}"))
        typer.echo(f"summary: {summary}")
