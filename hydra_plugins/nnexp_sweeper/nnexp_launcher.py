# OmegaConf reads the dataclass annotations at runtime: keep typing.Optional/Dict here.
# ruff: noqa: UP006, UP035, UP045
"""Hydra launcher plugin ``nnexp`` (``hydra/launcher=nnexp``): Hydra's joblib launcher, but each
job in its own process, so one job's death is that job's alone.

Hydra's joblib launcher runs the jobs in one loky pool, and a loky pool is one unit: when one
of its worker processes dies (``kill -9``, the OOM killer, a segfault) loky SIGKILLs the other
workers too and raises ``TerminatedWorkerError``, so every running job is lost. This launcher
gives each job a single-process loky executor of its own (loky pickles the task function with
cloudpickle, as joblib does) and runs up to ``n_jobs`` of them at once. A job whose process
died does not touch the others: they run to their end, and only then does :meth:`launch`
re-raise the first death error (loky's ``TerminatedWorkerError``), so a caller that handles a
worker death (the nnexp sweeper: ``nnexp.search.respawn``) sees it once every job is done.
A caller that sets :attr:`NnexpLauncher.on_death` hears of each death at once instead, and may
ask for replacement jobs (the sweeper does while trials remain).

A task function's exception comes back as the job's ``FAILED`` status, as in-process; one that
would not unpickle in the launching process (an exception class whose ``__init__`` takes other
arguments than its ``args``) comes back as a :class:`TaskError` naming it, where loky would
report a broken pool (which reads as a dead worker).

``n_jobs=1`` runs the jobs one after another in the launching process, as joblib does (no
process to start; what ``nnexp-train -m`` with one worker uses). ``n_jobs<=0`` counts from the
CPUs as in joblib (-1: all CPUs). The structure follows ``hydra_plugins.hydra_joblib_launcher``.

:meth:`NnexpLauncher.prewarm` starts the first jobs' processes early, while the caller is still
busy (the nnexp sweeper: its checks, stores and parent run), and has them import what the task
needs (its ``warm_up()``), so their start-up overlaps the caller's instead of following it.
"""

import logging
import os
import pickle
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


@dataclass
class NnexpLauncherConf:
    """``hydra.launcher`` settings of the nnexp launcher."""

    _target_: str = "hydra_plugins.nnexp_sweeper.nnexp_launcher.NnexpLauncher"
    #: jobs running at once, each in its own process; 1: one after another in this process;
    #: <= 0: from the CPU count as in joblib (-1: all CPUs). The nnexp sweeper sets it to
    #: hydra.sweeper.n_jobs
    n_jobs: int = -1


ConfigStore.instance().store(group="hydra/launcher", name="nnexp", node=NnexpLauncherConf, provider="nnexp")


def effective_n_jobs(n_jobs: int) -> int:
    """Jobs at once for the setting ``n_jobs`` (joblib's rule: <= 0 counts back from the CPUs)."""
    if n_jobs > 0:
        return n_jobs
    return max(1, (os.cpu_count() or 1) + 1 + n_jobs)


def execute_job(
    idx: int,
    overrides: Sequence[str],
    hydra_context: HydraContext,
    config: DictConfig,
    task_function: TaskFunction,
    singleton_state: Dict[Any, Any],
) -> JobReturn:
    """Run job ``idx`` (in a worker process or in this one), as Hydra's joblib launcher does."""
    setup_globals()
    Singleton.set_state(singleton_state)
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
        sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    return run_job(
        hydra_context=hydra_context,
        config=sweep_config,
        task_function=task_function,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def warm_up(task_function: TaskFunction) -> int:
    """In a prewarmed job process: import what ``task_function`` needs (its ``warm_up()``,
    when it has one); the process id."""
    warm = getattr(task_function, "warm_up", None)
    if callable(warm):
        warm()
    return os.getpid()


class TaskError(Exception):
    """A task function's exception that could not travel back from its job's process: its type
    and text (the message), and its traceback as text (:attr:`remote_traceback`)."""

    remote_traceback: str = ""


def execute_job_in_worker(env: Dict[str, str], *args: Any) -> JobReturn:
    """:func:`execute_job` in a worker process, its JobReturn made fit to send back: a task's
    exception that would not unpickle becomes a :class:`TaskError`, so the job still reads
    FAILED instead of breaking the executor (which the launcher takes for a dead process).
    ``env``: the launching process's environment when the job was submitted; a prewarmed
    process started before the caller exported what its jobs read (the nnexp sweeper exports
    credentials for its workers, never writing them to a file)."""
    from joblib.externals.loky.backend.reduction import dumps

    os.environ.update(env)
    ret = execute_job(*args)
    exc = ret._return_value
    if ret.status is JobStatus.FAILED and isinstance(exc, BaseException):
        try:
            pickle.loads(dumps(exc))
        except Exception:  # noqa: BLE001 - any failure to rebuild it there
            err = TaskError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
            err.remote_traceback = "".join(traceback.format_exception(exc))
            ret._return_value = err
    return ret


class NnexpLauncher(Launcher):
    """Launches each job in a single-process executor of its own, ``n_jobs`` at a time."""

    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = int(n_jobs)
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None
        #: called (in this process, while the other jobs run) with the error of each job whose
        #: process died: None leaves it to be raised once every job ended; n >= 0 handles it
        #: and starts n replacement jobs (the same overrides, the next job numbers)
        self.on_death: Optional[Callable[[BaseException], Optional[int]]] = None
        #: the first job number the last :meth:`launch` left unused (replacements included)
        self.next_job_idx = 0
        #: processes started by :meth:`prewarm` and not used yet: (executor, its warm-up)
        self._warm: List[Tuple[Any, Future]] = []

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def prewarm(self, n_jobs: Any, at_most: Any = None) -> None:
        """Start the processes of the first jobs of ``n_jobs`` now (none for one job: it runs
        in this process) and have each import what the task needs (:func:`warm_up`); the next
        :meth:`launch` runs its first jobs in them. Never more than ``at_most``, the jobs the
        caller may launch (the sweeper: its trials; ``n_jobs=64`` for 2 trials once started 64
        processes that took minutes to import on 2 cores). Never raises: a bad ``n_jobs`` is
        the caller's to refuse, and a process that fails to start is replaced when used.
        :meth:`discard_warm` ends those no launch used."""
        try:
            wanted = effective_n_jobs(int(n_jobs))
            if at_most is not None:
                wanted = min(wanted, int(at_most))
        except (TypeError, ValueError):
            return
        if wanted <= 1 or self.task_function is None:
            return
        from joblib.externals.loky import ProcessPoolExecutor

        while len(self._warm) < wanted:
            executor = ProcessPoolExecutor(max_workers=1)
            try:
                self._warm.append((executor, executor.submit(warm_up, self.task_function)))
            except Exception:  # noqa: BLE001 - e.g. no process could start: launch retries
                executor.shutdown(wait=False, kill_workers=True)
                return

    def discard_warm(self) -> None:
        """End the prewarmed processes that no job used."""
        while self._warm:
            executor, _ = self._warm.pop()
            executor.shutdown(wait=True, kill_workers=True)

    def _submit(self, *args: Any) -> Tuple[Any, Future]:
        """(executor, future) of a job: in a prewarmed process when one is left and alive, else
        in a new single-process executor. A prewarmed process that died before its job is
        replaced here; one that dies later is a dead job's process like any other."""
        from joblib.externals.loky import ProcessPoolExecutor

        while self._warm:
            executor, warmed = self._warm.pop(0)
            if not (warmed.done() and warmed.exception() is not None):
                try:
                    return executor, executor.submit(*args)
                except Exception:  # noqa: BLE001 - its process died: the pool is broken
                    pass
            executor.shutdown(wait=True, kill_workers=True)
        executor = ProcessPoolExecutor(max_workers=1)
        return executor, executor.submit(*args)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Run every job to its end; return their JobReturns in order. When a job's process
        died, raise the first such error, but only after the other jobs finished."""
        setup_globals()
        assert self.config is not None
        assert self.task_function is not None
        assert self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        n_jobs = effective_n_jobs(self.n_jobs)
        log.info(f"NnexpLauncher(n_jobs={n_jobs}) is launching {len(job_overrides)} jobs")
        log.info(f"Launching jobs, sweep output dir : {sweep_dir}")
        for idx, overrides in enumerate(job_overrides):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        jobs = [(initial_job_idx + idx, list(overrides)) for idx, overrides in enumerate(job_overrides)]
        self.next_job_idx = initial_job_idx + len(jobs)
        return self._run(jobs, n_jobs)

    def _run(self, jobs: List[Tuple[int, List[str]]], n_jobs: int) -> List[JobReturn]:
        """Run ``jobs`` (job number, overrides), ``n_jobs`` at once; subclasses (the Ray
        launcher) run them elsewhere."""
        if n_jobs == 1:
            return [self._execute(idx, overrides) for idx, overrides in jobs]
        return self._in_processes(jobs, n_jobs)

    def _execute(self, idx: int, overrides: List[str]) -> JobReturn:
        assert self.hydra_context is not None and self.config is not None
        assert self.task_function is not None
        return execute_job(
            idx,
            overrides,
            self.hydra_context,
            self.config,
            self.task_function,
            Singleton.get_state(),
        )

    def _in_processes(self, jobs: List[Tuple[int, List[str]]], n_jobs: int) -> List[JobReturn]:
        """Each job in a ``ProcessPoolExecutor(max_workers=1)`` of its own, ``n_jobs`` at once."""
        singleton_state = Singleton.get_state()
        results: Dict[int, JobReturn] = {}
        errors: List[BaseException] = []
        running: Dict[Future, Tuple[int, Any]] = {}
        pending = list(enumerate(jobs))
        try:
            while pending or running:
                while pending and len(running) < n_jobs:
                    pos, (idx, overrides) = pending.pop(0)
                    executor, future = self._submit(
                        execute_job_in_worker,
                        dict(os.environ),
                        idx,
                        overrides,
                        self.hydra_context,
                        self.config,
                        self.task_function,
                        singleton_state,
                    )
                    running[future] = (pos, executor)
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    pos, executor = running.pop(future)
                    executor.shutdown(wait=True)
                    try:
                        results[pos] = future.result()
                    except Exception as exc:  # noqa: BLE001 - its process died
                        log.warning(
                            f"job #{jobs[pos][0]} ended without a result "
                            f"({type(exc).__name__}); the other jobs run on"
                        )
                        pending.extend(self._replace(exc, jobs, pos, errors))
        except BaseException:  # Ctrl-C, a failing hook: end every job's process, as joblib does
            for _, executor in running.values():
                executor.shutdown(wait=True, kill_workers=True)
            raise
        if errors:
            raise errors[0]
        return [results[pos] for pos in sorted(results)]

    def _replace(
        self,
        exc: BaseException,
        jobs: List[Tuple[int, List[str]]],
        pos: int,
        errors: List[BaseException],
    ) -> List[Tuple[int, Tuple[int, List[str]]]]:
        """The replacement jobs :attr:`on_death` asks for (appended to ``jobs``); the error
        joins ``errors`` when no hook handles it."""
        wanted = self.on_death(exc) if self.on_death is not None else None
        if wanted is None:
            errors.append(exc)
            return []
        out = []
        for _ in range(wanted):
            jobs.append((self.next_job_idx, list(jobs[pos][1])))
            self.next_job_idx += 1
            out.append((len(jobs) - 1, jobs[-1]))
        return out
