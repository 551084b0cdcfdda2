"""Hydra's launcher conformance suites, run against nnexp's launcher (``hydra/launcher=nnexp``).

The suites ship with hydra-core (``hydra.test_utils.launcher_common_tests``, their configs in
``hydra/test_utils/configs``); their fixtures come from hydra-core's pytest plugin. Each suite runs
with ``n_jobs=2`` (every job in a process of its own) and ``n_jobs=1`` (jobs in this process).
The suites have no failing task: :func:`test_a_task_error_fails_its_job` adds one.
"""

from __future__ import annotations

import pytest
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.test_utils.launcher_common_tests import IntegrationTestSuite, LauncherTestSuite

from hydra_plugins.nnexp_sweeper.nnexp_launcher import NnexpLauncher


@pytest.fixture(autouse=True)
def hydra_version_base_unset():
    """The suites assume Hydra's version base is unset (1.1 behaviour: jobs chdir into their
    output dir), as in Hydra's own test runs. Importing ``nnexp.cli.train`` earlier in the same
    pytest process (its ``@hydra.main(version_base="1.3")``) sets it globally: unset it here."""
    from hydra.version import _UNSPECIFIED_, VersionBase

    base = VersionBase.instance()  # a Singleton: VersionBase() would return this same one
    before, base.version_base = base.version_base, _UNSPECIFIED_
    yield
    VersionBase.instance().version_base = before


#: the launcher's two code paths, by test id: each job in a worker process of its own (slow:
#: a process per job), and every job in this process
PATHS = {"processes": 2, "in_process": 1}


def _cases(make) -> list:
    """One ``pytest.param(*make(n_jobs))`` per code path, the worker-process one marked slow."""
    return [
        pytest.param(*make(n_jobs), id=name, marks=[pytest.mark.slow] if n_jobs > 1 else [])
        for name, n_jobs in PATHS.items()
    ]


def test_the_launcher_is_discovered() -> None:
    assert NnexpLauncher.__name__ in [x.__name__ for x in Plugins.instance().discover(Launcher)]


@pytest.mark.parametrize(
    "launcher_name, overrides", _cases(lambda n: ("nnexp", [f"hydra.launcher.n_jobs={n}"]))
)
class TestNnexpLauncher(LauncherTestSuite):
    """Hydra's launcher suite (sweeps of one and two jobs, config groups, bad keys, resolvers)."""


def _app_config(n_jobs: int) -> tuple[dict, list[str]]:
    """The generated app's config (``override``: Hydra >= 1.2 rejects a hydra/ default without it) and flags."""
    defaults = [
        {"override hydra/launcher": "nnexp"},
        {"override hydra/hydra_logging": "hydra_debug"},
        {"override hydra/job_logging": "disabled"},
    ]
    return {"defaults": defaults, "hydra": {"launcher": {"n_jobs": n_jobs}}}, ["-m"]


@pytest.mark.slow
@pytest.mark.parametrize("task_launcher_cfg, extra_flags", _cases(_app_config))
class TestNnexpLauncherIntegration(IntegrationTestSuite):
    """Hydra's integration suite: a generated ``@hydra.main`` app run with ``-m`` in a subprocess
    (job names, sweep dirs and subdirs, ``override_dirname``, original cwd, absolute paths)."""


def _two_jobs(hydra_sweep_runner, tmpdir, task, n_jobs: int):
    """A sweep of ``task`` over two jobs (``a=0`` and ``a=1``) on nnexp's launcher."""
    return hydra_sweep_runner(
        calling_file=None,
        calling_module="hydra.test_utils.a_module",
        task_function=task,
        config_path="configs",
        config_name="compose",
        overrides=["hydra/launcher=nnexp", f"hydra.launcher.n_jobs={n_jobs}", "+a=0,1"],
        temp_dir=tmpdir,
    )


@pytest.mark.usefixtures("hydra_restore_singletons")
@pytest.mark.parametrize("picky", [False, True], ids=["plain_error", "error_that_cannot_unpickle"])
@pytest.mark.parametrize("n_jobs", _cases(lambda n: (n,)))
def test_a_task_error_fails_its_job(hydra_sweep_runner, tmpdir, n_jobs: int, picky: bool) -> None:
    """A task's exception is its job's FAILED status, which the sweep raises (Hydra's contract),
    also from a worker process; one that would not unpickle here arrives as a TaskError naming
    it, not as loky's broken pool (which the nnexp sweeper takes for a dead worker)."""

    class Picky(Exception):
        def __init__(self, code: int, why: str) -> None:
            super().__init__(f"{why} ({code})")

    def task(cfg) -> int:
        if cfg.a == 1:
            raise Picky(7, "a=1 fails") if picky else ValueError("a=1 fails (7)")
        return cfg.a

    sweep = _two_jobs(hydra_sweep_runner, tmpdir, task, n_jobs)
    # by name: Hydra's plugin scan re-executes the launcher's module, so its classes are new ones
    expected = "ValueError" if not picky else "Picky" if n_jobs == 1 else "TaskError"
    with pytest.raises(Exception, match=r"a=1 fails \(7\)") as raised:
        with sweep:
            pass
    assert type(raised.value).__name__ == expected
    if expected == "TaskError":
        assert "Picky" in str(raised.value)
        assert "a=1 fails" in raised.value.remote_traceback


@pytest.mark.slow
@pytest.mark.usefixtures("hydra_restore_singletons")
def test_prewarmed_processes_run_the_first_jobs(hydra_sweep_runner, tmpdir, monkeypatch) -> None:
    """``prewarm`` starts the jobs' processes early (the nnexp sweeper: while it prepares); the
    jobs then run in those processes, with the environment the launching process had when it
    launched them (the sweeper exports its workers' credentials after the prewarm)."""
    import os

    warm_pids: list[int] = []
    instantiate = Plugins.instantiate_launcher

    def prewarmed(self, *args, **kwargs):
        launcher = instantiate(self, *args, **kwargs)
        launcher.prewarm(2)
        warm_pids.extend(warmed.result(timeout=120) for _, warmed in launcher._warm)
        monkeypatch.setenv("NNEXP_TEST_EXPORTED", "after the prewarm")
        return launcher

    monkeypatch.setattr(Plugins, "instantiate_launcher", prewarmed)

    def task(cfg) -> tuple:
        return os.getpid(), os.environ.get("NNEXP_TEST_EXPORTED")

    sweep = _two_jobs(hydra_sweep_runner, tmpdir, task, 2)
    with sweep:
        returns = [job.return_value for job in sweep.returns[0]]
    assert len(warm_pids) == 2 and os.getpid() not in warm_pids
    assert sorted(pid for pid, _ in returns) == sorted(warm_pids)
    assert {env for _, env in returns} == {"after the prewarm"}


def test_prewarm_starts_no_more_processes_than_jobs_can_run(monkeypatch) -> None:
    """``n_jobs=64`` for a 2-trial sweep prewarmed 64 processes (minutes of imports on 2 cores)
    although only 2 workers were launched: ``at_most`` caps the prewarm."""
    from hydra_plugins.nnexp_sweeper.nnexp_launcher import NnexpLauncher

    started: list[int] = []

    class Pool:
        def __init__(self, max_workers: int) -> None:
            started.append(max_workers)

        def submit(self, *args):
            return None

    monkeypatch.setattr("joblib.externals.loky.ProcessPoolExecutor", Pool)
    launcher = NnexpLauncher()
    launcher.task_function = object()
    launcher.prewarm(64, 2)
    assert started == [1, 1]
    launcher._warm.clear()
    launcher.prewarm(3)
    assert len(started) == 5
