"""Rendering on a real local Ray cluster: the same bytes as a local render, in order, with a
bounded window, retried when a worker dies, across simulated nodes, and cancelled by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from cppnart.cli import app  # noqa: E402
from cppnart.cluster import tasks  # noqa: E402
from cppnart.cluster.ordered import in_order  # noqa: E402
from cppnart.cluster.renderer import RayRenderer  # noqa: E402
from cppnart.configs.view import View  # noqa: E402
from cppnart.render.model import load_model  # noqa: E402
from cppnart.render.poster import save_poster  # noqa: E402

from ..conftest import files_in  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# 256 px wide with 2x2 supersampling: 256 rows per band, so 600 rows are 3 bands (3 tasks).
POSTER = dict(width=256, height=600, view=View(zoom=1.5, center=(0.2, -0.1)), supersample=2)


def cli_env() -> dict[str, str]:
    """The environment a CLI subprocess needs to import this checkout (and Ray's workers too)."""
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


@pytest.fixture
def net(tiny_preset):
    return load_model(str(tiny_preset), seed=5)


def poster_bytes(net, path: Path, renderer=None) -> bytes:
    save_poster(net, net.sample_z(5), path=path, renderer=renderer, **POSTER)
    return path.read_bytes()


def test_poster_on_the_cluster_is_the_local_file_byte_for_byte(ray_cluster, net, tmp_path):
    renderer = RayRenderer()
    assert poster_bytes(net, tmp_path / "c.png", renderer) == poster_bytes(net, tmp_path / "l.png")
    assert renderer.stats.tasks == 3  # the local band split: one task per band
    assert len(renderer.handle(net).refs) == 1 and len(renderer._handles) == 1  # the model was put once


def test_morph_grid_and_tiles_through_the_cli_match_local(ray_cluster, runner, tiny_preset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    for name in "abc":
        np.save(f"{name}.npy", rng.uniform(-1, 1, 4).astype(np.float32))
    model = ["--model", str(tiny_preset), "--seed", "5"]
    morph = [
        "morph",
        "a.npy",
        "b.npy",
        "c.npy",
        *model,
        "--res",
        "32x24",
        "--frames",
        "9",
        "--hold",
        "3",
        "--batch",
        "4",
    ]
    grid = ["grid", "--model", str(tiny_preset), "--seeds", "1-5", "--cell", "24x24"]
    tiles = ["render", str(tiny_preset), "--seed", "5", "--res", "300x200", "--supersample", "2"]
    for where, extra in (("local", []), ("cluster", ["--cluster", "auto"])):  # auto joins the session's cluster
        for args in (
            [*morph, "-o", f"{where}.gif"],
            [*morph, "-o", f"{where}.mp4"],
            [*morph, "-o", f"{where}-frames"],
            [*grid, "-o", f"{where}-grid.png"],
            [*tiles, "--tiles", f"{where}-tiles"],
        ):
            result = runner.invoke(app, [*args, *extra, "--json"])
            assert result.exit_code == 0, result.output
            if extra:
                assert json.loads(result.output.splitlines()[-1])["cluster"]["tasks"] >= 1
    for local, remote in (
        ("local.gif", "cluster.gif"),
        ("local.mp4", "cluster.mp4"),
        ("local-grid.png", "cluster-grid.png"),
    ):
        assert Path(local).read_bytes() == Path(remote).read_bytes(), local
    for local, remote in (("local-frames", "cluster-frames"), ("local-tiles", "cluster-tiles")):
        left = {p.relative_to(local): p.read_bytes() for p in Path(local).rglob("*") if p.is_file()}
        right = {p.relative_to(remote): p.read_bytes() for p in Path(remote).rglob("*") if p.is_file()}
        # the tile folder is named after its folder: compare the names with that part swapped
        right = {Path(str(k).replace("cluster-tiles", "local-tiles")): v for k, v in right.items()}
        assert left == right and len(left) > 5, local


def test_in_order_keeps_a_bounded_window_in_flight(ray_cluster):
    submitted, window = [], 3

    @ray.remote
    def square(x):
        return x * x

    def submit(x):
        submitted.append(x)
        return square.remote(x)

    seen = []
    for value in in_order(submit, range(20), window):
        assert len(submitted) - len(seen) <= window  # never more than the window ahead of the consumer
        seen.append(value)
    assert seen == [x * x for x in range(20)]


def die_once(function, marker: str):
    """A task that kills its own worker process the first time any worker runs it."""

    def task(*args):
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker dies mid-task, as on a lost node
        return function(*args)

    return task


class FlakyRenderer(RayRenderer):
    def __init__(self, marker: Path) -> None:
        super().__init__()
        self.marker = str(marker)

    def remote(self, function):
        return super().remote(die_once(function, self.marker))


def test_a_killed_worker_has_its_task_retried_and_the_file_is_identical(ray_cluster, net, tmp_path):
    marker = tmp_path / "died"
    renderer = FlakyRenderer(marker)
    assert poster_bytes(net, tmp_path / "c.png", renderer) == poster_bytes(net, tmp_path / "l.png")
    assert marker.exists() and renderer.stats.tasks == 3


TWO_NODES = """
import json, sys
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from cppnart.cluster.connect import connected
from cppnart.cluster.renderer import RayRenderer
from cppnart.configs.view import View
from cppnart.render.model import load_model
from cppnart.render.poster import save_poster

with connected(sys.argv[1]) as where:
    # A worker on each node first: tiny tasks would otherwise all finish on the first worker up.
    ping = ray.remote(lambda: None)
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
    ray.get([ping.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote() for n in nodes])
    net = load_model(sys.argv[2], seed=5)
    renderer = RayRenderer()
    save_poster(net, net.sample_z(5), 256, 4096, sys.argv[3], View(zoom=1.5), 2, renderer=renderer)
    print(json.dumps({"where": where, **renderer.stats.as_dict()}))
"""


def test_a_simulated_two_node_cluster_renders_the_same_poster(ray_cluster, net, tiny_preset, tmp_path):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        done = subprocess.run(  # a driver of its own: this process stays on the session's cluster
            [sys.executable, "-c", TWO_NODES, cluster.address, str(tiny_preset), str(tmp_path / "two.png")],
            capture_output=True, text=True, env=cli_env(), timeout=120,
        )  # fmt: skip
    finally:
        cluster.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"where": "2 nodes, 2 CPUs", "tasks": 16, "nodes": 2}  # 256 rows per band at 2x2: 16 bands
    save_poster(net, net.sample_z(5), 256, 4096, tmp_path / "here.png", View(zoom=1.5), 2)
    assert (tmp_path / "two.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_ctrl_c_cancels_the_tasks_and_leaves_no_file(ray_cluster, tiny_preset, tmp_path):
    address = ray.get_runtime_context().gcs_address
    out = tmp_path / "out"
    out.mkdir()
    np.save(tmp_path / "a.npy", np.zeros(4, np.float32))
    np.save(tmp_path / "b.npy", np.ones(4, np.float32))
    cmd = [
        sys.executable,
        "-m",
        "cppnart",
        "morph",
        "a.npy",
        "b.npy",
        "-o",
        "out/long.gif",
        "--model",
        str(tiny_preset),
    ]
    cmd += ["--seed", "5", "--res", "256x256", "--frames", "5000", "--batch", "1", "--cluster", "auto"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env={**cli_env(), "RAY_ADDRESS": address}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 60
    while not files_in(out) and time.time() < deadline:  # the GIF's temporary file: frames are arriving
        time.sleep(0.2)
    assert files_in(out), "the morph never started writing"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert files_in(out) == []  # no output, no temporary
    deadline = time.time() + 20  # the cancelled tasks give their CPUs back to the cluster
    while ray.available_resources().get("CPU", 0) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2


def test_workers_keep_one_model_per_key(ray_cluster, net):
    """The model's bytes are fetched once per worker, not once per task."""

    @ray.remote(num_cpus=1)
    def fetches(handle, times):
        before = len(tasks._models)
        models = {id(tasks.worker_model(handle)) for _ in range(times)}
        return len(models), len(tasks._models) - before <= 1

    handle = RayRenderer().handle(net)
    assert ray.get(fetches.remote(handle, 5)) == (1, True)


def test_ray_client_address_renders_the_same_poster_and_morph(
    ray_client_address, client_server_failures, runner, tiny_preset, tmp_path, monkeypatch
):
    """`--cluster ray://HOST:PORT` goes through Ray Client (a driver of its own, in a CLI subprocess);
    the poster's first connection meets a head whose server for it dies starting, and is tried again."""
    client_server_failures.write_text("1")
    monkeypatch.chdir(tmp_path)
    np.save("a.npy", np.zeros(4, np.float32))
    np.save("b.npy", np.linspace(-1, 1, 4, dtype=np.float32))
    poster = ["render", str(tiny_preset), "--seed", "5", "--res", "256x600", "--supersample", "2", "--zoom", "1.5"]
    morph = ["morph", "a.npy", "b.npy", "--model", str(tiny_preset), "--seed", "5", "--res", "48x32"]
    morph += ["--frames", "12", "--batch", "4"]
    for args, name in ((poster, "poster.png"), (morph, "morph.gif")):
        done = subprocess.run(
            [sys.executable, "-m", "cppnart", *args, "-o", f"client-{name}", "--cluster", ray_client_address, "--json"],
            capture_output=True, text=True, cwd=tmp_path, env=cli_env(), timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:] + _client_server_logs()
        assert json.loads(done.stdout.splitlines()[-1])["cluster"]["tasks"] >= 3
        assert runner.invoke(app, [*args, "-o", f"local-{name}", "-q"]).exit_code == 0  # here, in this process
        assert (tmp_path / f"local-{name}").read_bytes() == (tmp_path / f"client-{name}").read_bytes(), name
        assert client_server_failures.read_text() == "0"  # the poster's first server did die


def _client_server_logs() -> str:
    """The Ray Client servers' own error logs (in the session cluster's temp folder), to say why one failed."""
    import tempfile

    logs = sorted(Path(tempfile.gettempdir()).glob("ray-*/session_latest/logs/ray_client_server*.err"))
    return "".join(f"\n--- {path.name}:\n{path.read_text(errors='replace')[-1500:]}" for path in logs)


# What Ray 2.60's proxier answers when the server it started for the connection did not answer
# within RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S (its source, ray/util/client/server/proxier.py).
CLIENT_SERVER_SLOW = """Initialization failure from server:
Traceback (most recent call last):
  File "/x/site-packages/ray/util/client/server/proxier.py", line 780, in Datapath
    raise RuntimeError(
RuntimeError: Proxy failed to Connect to backend! Check `ray_client_server.err` and
`ray_client_server_23000.err` on the head node of the cluster for the relevant logs.
"""


# ... and when that server died while starting (ray-project/ray#63202: a gRPC race in its fork,
# met in CI twice): the connection is tried CLIENT_SERVER_TRIES times before this is said.
CLIENT_SERVER_DIED = """Initialization failure from server:
Traceback (most recent call last):
  File "/x/site-packages/ray/util/client/server/proxier.py", line 772, in Datapath
    raise RuntimeError(
RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err for detailed logs.
"""


def test_a_ray_client_server_that_did_not_answer_in_time_says_what_to_do():
    from cppnart.cluster.connect import CLIENT_SERVER_TRIES, unreachable

    slow = str(unreachable("ray://10.0.0.5:10001", CLIENT_SERVER_SLOW))
    assert "\n" not in slow and slow.startswith("cannot reach the Ray cluster at 'ray://10.0.0.5:10001': ")
    assert "Proxy failed to Connect to backend" in slow
    assert "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S=120" in slow  # what to do about it
    died = str(unreachable("ray://10.0.0.5:10001", CLIENT_SERVER_DIED, CLIENT_SERVER_TRIES))
    assert "\n" not in died and "Starting Ray client server failed" in died and "(3 tries)" in died
    assert "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S" not in died  # a longer wait does not help a server that died
    other = str(unreachable("ray://10.0.0.5:10001", "Failed to connect to the server\nafter 5 retries"))
    address = "cannot reach the Ray cluster at 'ray://10.0.0.5:10001': "
    assert other == address + "Failed to connect to the server after 5 retries"  # no hint where Ray gave none


# --- addresses that do not answer (issue 31) ---------------------------------------------------
# Each runs the real CLI in a fresh process (this one may be connected to the session's cluster,
# which `connected` would reuse). Seconds are reported, and bounded only generously.
CLUSTER_WAITS: list[tuple[str, float, int]] = []


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


def _cli_timed(args: list[str], cwd: Path, env: dict[str, str] | None = None, stop_after: float | None = None):
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cppnart", *args], cwd=cwd, env={**cli_env(), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    if stop_after is not None:
        time.sleep(stop_after)
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    return proc.returncode, err, time.perf_counter() - start


@pytest.mark.parametrize("form", ["127.0.0.1:PORT", "localhost:PORT", "ray://127.0.0.1:PORT", "auto+RAY_ADDRESS"])
def test_a_closed_port_is_one_line_within_the_timeout(form, tiny_preset, tmp_path):
    port = _closed_port()
    address, env = form.replace("PORT", str(port)), {}
    if form == "auto+RAY_ADDRESS":
        address, env = "auto", {"RAY_ADDRESS": f"127.0.0.1:{port}"}
    args = ["render", str(tiny_preset), "--seed", "1", "--res", "16x16", "-o", "out.png", "--cluster", address]
    code, err, seconds = _cli_timed([*args, "--cluster-timeout", "3"], tmp_path, env)
    CLUSTER_WAITS.append((form, round(seconds, 2), code))
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: cannot reach the Ray cluster at "), err
    assert str(port) in err and "Connection refused" in err
    assert seconds < 3 + 20  # the timeout and a generous start-up; Ray alone took more than 60 s
    assert sorted(p.name for p in tmp_path.iterdir()) == [tiny_preset.name]


@pytest.mark.parametrize(
    "args,words",
    [
        (["--cluster", "127.0.0.1:0"], "--cluster '127.0.0.1:0': a port is 1 to 65535, got 0"),
        (["--cluster", "ray://head:99999"], "--cluster 'ray://head:99999': a port is 1 to 65535, got 99999"),
        (["--cluster", "127.0.0.1:6379", "--cluster-timeout", "0"], "--cluster-timeout must be more than 0"),
        (["--cluster", "127.0.0.1:6379", "--cluster-timeout", "nan"], "--cluster-timeout must be more than 0"),
    ],
)
def test_impossible_ports_and_timeouts_are_refused_before_any_work(args, words, runner, tiny_preset, tmp_path):
    from ..conftest import one_error_line

    out = tmp_path / "out.png"
    result = runner.invoke(app, ["render", str(tiny_preset), "--res", "16x16", "-o", str(out), *args])
    assert result.exit_code == 2 and words in one_error_line(result) and not out.exists()


def test_a_port_that_accepts_and_never_answers_stops_promptly_and_times_out(tiny_preset, tmp_path):
    """Ray's C++ client waits 5 s per attempt here, holding the main thread: SIGTERM still exits
    143 at once (cluster.watchdog), and without one the command gives up with one line."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        args = ["render", str(tiny_preset), "--res", "16x16", "-o", "out.png", "--cluster", address]
        code, err, seconds = _cli_timed([*args, "--cluster-timeout", "2"], tmp_path, stop_after=4.0)
        CLUSTER_WAITS.append(("silent port, SIGTERM after 4 s", round(seconds, 2), code))
        assert code == 128 + signal.SIGTERM, err
        assert err.splitlines() == ["stopped by signal 15; no partial output was left behind"], err
        assert seconds < 4.0 + 20  # it took 11-38 s before
        code, err, seconds = _cli_timed([*args, "--cluster-timeout", "2"], tmp_path)
        CLUSTER_WAITS.append(("silent port, no signal", round(seconds, 2), code))
        assert code == 2 and len(err.splitlines()) == 1 and "cannot reach the Ray cluster" in err, err
        assert seconds < 2 + 10 + 20  # the timeout, the join grace, a generous start-up
    assert sorted(p.name for p in tmp_path.iterdir()) == [tiny_preset.name]
    print("\n--cluster waits (form, seconds, exit):", CLUSTER_WAITS)


@pytest.mark.torch
def test_sweep_on_a_closed_port_is_one_line(tmp_path):
    from ..glyph_fixtures import TINY_GLYPH

    (tmp_path / "tiny.toml").write_text(TINY_GLYPH)
    (tmp_path / "sweep.toml").write_text('presets = ["tiny.toml"]\nseeds = [1]\nsteps = 2\n')
    args = ["sweep", "sweep.toml", "--out", "sw", "--cluster", f"127.0.0.1:{_closed_port()}", "--cluster-timeout", "3"]
    code, err, seconds = _cli_timed(args, tmp_path)
    CLUSTER_WAITS.append(("sweep 127.0.0.1:PORT", round(seconds, 2), code))
    assert code == 2 and len(err.splitlines()) == 1 and "cannot reach the Ray cluster" in err, err
    assert seconds < 3 + 30  # torch's import comes first
