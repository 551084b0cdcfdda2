# OmegaConf reads the dataclass annotations at runtime: keep typing.Optional/Dict here.
# ruff: noqa: UP006, UP035, UP045
"""Hydra launcher plugin ``nnexp_ray`` (``hydra/launcher=nnexp_ray``; ``pip install nnexp[ray]``):
each sweep worker job is a Ray actor on a Ray cluster, ``n_jobs`` of them at once.

It is nnexp's launcher (:class:`~hydra_plugins.nnexp_sweeper.nnexp_launcher.NnexpLauncher`:
the same :func:`execute_job`, ``on_death`` hook and replacement jobs) with the jobs on Ray
instead of local processes. Each job gets an actor of its own with the resources asked for
(``num_cpus``, ``num_gpus``, ``memory``), placed by Ray where they are free; the actor runs the
long-lived worker job (it pulls trials from the study until it is full: no batches) and is
killed when its job ended, when the sweep is interrupted, or when a run of jobs raised. An actor
whose process or node died (Ray's :data:`nnexp.search.respawn.RAY_DEATH_ERRORS`) is a worker
death: the error carries the dead worker's (host, pid) (:data:`DEAD_WORKERS_ATTR`), so its trial
is reaped at once on any host, and ``on_death`` asks for its replacement.

Ray itself is imported when the launcher is set up, never at Hydra's plugin scan: the extra
stays optional.
"""

import logging
import os
import socket
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.nnexp_sweeper.nnexp_launcher import NnexpLauncher, execute_job

log = logging.getLogger(__name__)

#: the sweeper's override that names the workers' context file (``nnexp.search.launch``)
CONTEXT_OVERRIDE = "hydra.sweeper.worker_context="
#: hosts that are this machine in a ``ray://`` address
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


@dataclass
class NnexpRayLauncherConf:
    """``hydra.launcher`` settings of the Ray launcher."""

    _target_: str = "hydra_plugins.nnexp_sweeper.nnexp_ray_launcher.NnexpRayLauncher"
    #: actors at once; the nnexp sweeper sets it to hydra.sweeper.n_jobs; <= 0: the cluster's
    #: CPUs / num_cpus
    n_jobs: int = -1
    #: the cluster: auto (the one started with `ray start` on this machine), host:6379, or
    #: ray://host:10001 (Ray client); null: a Ray instance started here for this sweep
    address: Optional[str] = None
    #: resources of each worker (one actor per worker): CPUs, GPUs, memory in bytes
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: Optional[int] = None
    #: the job's Ray runtime environment (a mapping) (pip, working_dir, env_vars, ...) for nodes that
    #: lack the project, e.g. {pip: [nnexp[postgres]], env_vars: {OMP_NUM_THREADS: "1"}}
    runtime_env: Any = None


ConfigStore.instance().store(
    group="hydra/launcher", name="nnexp_ray", node=NnexpRayLauncherConf, provider="nnexp"
)


class SweepWorker:
    """The Ray actor of one worker job (``ray.remote`` wraps it when the launcher connects)."""

    def where(self) -> Tuple[str, int, str]:
        """(host, pid, Ray node id) of this actor's process."""
        import ray

        return socket.gethostname(), os.getpid(), ray.get_runtime_context().get_node_id()

    def run(
        self,
        idx: int,
        overrides: List[str],
        shared: Tuple[Any, ...],
        cwd: str,
        files: Dict[str, bytes],
        env: Dict[str, str],
    ) -> JobReturn:
        """Job ``idx`` in the driver's directory when this node has it (a shared file system),
        else in a temporary one; ``files`` (the workers' context) written where missing;
        ``env``: the driver's variables the context refers to (the storage URL's)."""
        from nnexp.contract import NODE_ENV

        os.environ.update(env)
        os.environ[NODE_ENV] = self.where()[2]
        if not Path(cwd).is_dir():
            cwd = tempfile.mkdtemp(prefix="nnexp-ray-")
        os.chdir(cwd)
        for path, data in files.items():
            if not Path(path).exists():
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_bytes(data)
        return execute_job(idx, overrides, *shared)


class NnexpRayLauncher(NnexpLauncher):
    """nnexp's launcher with each job a Ray actor (see the module doc)."""

    def __init__(
        self,
        n_jobs: int = -1,
        address: Optional[str] = None,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        memory: Optional[int] = None,
        runtime_env: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(n_jobs=n_jobs)
        self.address = address if address not in ("", "local") else None
        self.resources: Dict[str, Any] = {"num_cpus": float(num_cpus), "num_gpus": float(num_gpus)}
        if memory:
            self.resources["memory"] = int(memory)
        if OmegaConf.is_config(runtime_env):
            runtime_env = OmegaConf.to_container(runtime_env, resolve=True)
        self.runtime_env: Optional[Dict[str, Any]] = dict(runtime_env) if runtime_env else None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")  # every worker's trial lines, as printed
        try:
            import ray  # noqa: F401 - here, so that the sweeper knows Ray's death errors
        except ImportError as exc:
            raise ImportError(
                "hydra/launcher=nnexp_ray needs Ray: pip install 'nnexp[ray]' (or pip install ray)"
            ) from exc
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def prewarm(self, n_jobs: Any, at_most: Any = None) -> None:
        """Nothing: the jobs are Ray actors, started on the cluster at launch."""

    # -- the cluster -----------------------------------------------------------------------

    def connect(self) -> Any:
        """``ray`` connected to :attr:`address` (once per process)."""
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, runtime_env=self.runtime_env, log_to_driver=True)
        return ray

    def remote_nodes(self) -> List[str]:
        """Addresses of the cluster's nodes that are not this machine (empty for a local
        instance); a ``ray://`` address to another host counts without connecting."""
        if self.address is None:
            return []
        if self.address.startswith("ray://"):
            host = urllib.parse.urlsplit(self.address).hostname or ""
            if host not in LOCAL_HOSTS and host not in local_addresses():
                return [host]
        ray = self.connect()
        mine = local_addresses()
        nodes = [str(n.get("NodeManagerAddress", "")) for n in ray.nodes() if n.get("Alive")]
        return sorted({n for n in nodes if n not in mine})

    def cluster_cores(self) -> int:
        """The cluster's CPUs (the sweep's start line compares ``n_jobs`` with them)."""
        return int(self.connect().cluster_resources().get("CPU", 1))

    def check_places(self, storage_url: str, tracking_uri: Optional[str]) -> None:
        """Refuse (exit 2, before the study exists) stores that workers on other machines
        cannot reach: a journal or SQLite study, a local MLflow store."""
        from nnexp.errors import SweepSettingError

        remote = self.remote_nodes()
        problem = unshared_store(storage_url, tracking_uri)
        if remote and problem:
            raise SweepSettingError(
                f"hydra/launcher=nnexp_ray: the Ray cluster at {self.address} has nodes on other "
                f"machines ({', '.join(remote[:3])}), but {problem}. Workers on every node "
                "must reach the same stores: the study on PostgreSQL "
                "(hydra.sweeper.storage=postgresql://user@db-host/optuna or NNEXP_OPTUNA_STORAGE) "
                "and MLflow on a tracking server (tracking.uri=http://mlflow-host:5000)"
            )

    # -- the jobs --------------------------------------------------------------------------

    def _run(self, jobs: List[Tuple[int, List[str]]], n_jobs: int) -> List[JobReturn]:
        """Each job a Ray actor, ``n_jobs`` at once; a dead actor's job is replaced through
        :attr:`on_death` as in nnexp's launcher. No actor outlives this call."""
        from nnexp.search.launch import DEAD_WORKERS_ATTR
        from nnexp.search.respawn import worker_death_errors

        ray = self.connect()
        if self.n_jobs <= 0:
            n_jobs = max(
                1, int(ray.cluster_resources().get("CPU", 1) // max(self.resources["num_cpus"], 1e-3))
            )
        deaths = worker_death_errors()
        host_cls = ray.remote(max_restarts=0, max_task_retries=0)(SweepWorker).options(**self.resources)
        shared = ray.put((self.hydra_context, self.config, self.task_function, Singleton.get_state()))
        cwd, files, env = os.getcwd(), context_files(jobs), forwarded_env()
        results: Dict[int, JobReturn] = {}
        errors: List[BaseException] = []
        running: Dict[Any, Tuple[int, Any, Any]] = {}
        pending = list(enumerate(jobs))
        try:
            while pending or running:
                while pending and len(running) < n_jobs:
                    pos, (idx, overrides) = pending.pop(0)
                    actor = host_cls.remote()
                    where = actor.where.remote()
                    running[actor.run.remote(idx, overrides, shared, cwd, files, env)] = (pos, actor, where)
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    pos, actor, where = running.pop(ref)
                    try:
                        results[pos] = ray.get(ref)
                    except deaths as exc:
                        place = dead_place(ray, where)
                        setattr(exc, DEAD_WORKERS_ATTR, {place[:2]} if place else set())
                        log.warning(
                            f"job #{jobs[pos][0]} ended without a result ({type(exc).__name__}"
                            + (f": worker process {place[1]} on node {place[2][:12]}" if place else "")
                            + "); the other jobs run on"
                        )
                        pending.extend(self._replace(exc, jobs, pos, errors))
                    finally:
                        ray.kill(actor, no_restart=True)
        except BaseException as exc:  # Ctrl-C, a failing hook, a job's own error: no actor left
            # behind, and the sweeper's reaper told whose trials to fail (on any node)
            setattr(exc, DEAD_WORKERS_ATTR, stop_actors(ray, running))
            raise
        if errors:
            raise errors[0]
        return [results[pos] for pos in sorted(results)]


def stop_actors(ray: Any, running: Dict[Any, Tuple[int, Any, Any]], timeout: float = 30.0) -> set:
    """Kill the actors still running jobs, wait (up to ``timeout``) for Ray to see them dead
    (``ray.kill`` is asynchronous) and return their workers' {(host, pid)}."""
    if not running:
        return set()
    for _, actor, _ in running.values():
        ray.kill(actor, no_restart=True)
    ray.wait(list(running), num_returns=len(running), timeout=timeout)
    places = (dead_place(ray, where) for _, _, where in running.values())
    return {place[:2] for place in places if place is not None}


def dead_place(ray: Any, where: Any) -> Optional[Tuple[str, int, str]]:
    """(host, pid, node id) of a dead actor, when it had told (its ``where`` call returned)."""
    ready, _ = ray.wait([where], timeout=0)
    if not ready:
        return None
    try:
        return tuple(ray.get(where))  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - it died before answering
        return None


def context_files(jobs: Sequence[Tuple[int, Sequence[str]]]) -> Dict[str, bytes]:
    """The files the jobs' overrides name that a node without the driver's file system lacks:
    the workers' context file (path -> contents)."""
    files: Dict[str, bytes] = {}
    for _, overrides in jobs:
        for o in overrides:
            if o.startswith(CONTEXT_OVERRIDE):
                path = unquote(o[len(CONTEXT_OVERRIDE) :])
                if Path(path).is_file() and path not in files:
                    files[path] = Path(path).read_bytes()
    return files


def forwarded_env() -> Dict[str, str]:
    """The driver's variables a worker on another node needs: ``$NNEXP_OPTUNA_STORAGE``
    (a sweep whose storage URL, password included, came from it records only its name). They
    travel in the actor call's arguments: never in a file, the runtime_env or Ray's dashboard."""
    from nnexp.search.storage import STORAGE_ENV

    return {STORAGE_ENV: os.environ[STORAGE_ENV]} if os.environ.get(STORAGE_ENV) else {}


def unquote(value: str) -> str:
    """The value of a Hydra override quoted by ``nnexp.search.launch._quote``."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    return value


def local_addresses() -> set:
    """This machine's addresses as Ray names nodes."""
    out = set(LOCAL_HOSTS) | {socket.gethostname()}
    try:
        out |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    try:
        from ray.util import get_node_ip_address

        out.add(get_node_ip_address())
    except Exception:  # noqa: BLE001 - no route: the names above
        pass
    return out


def unshared_store(storage_url: str, tracking_uri: Optional[str]) -> Optional[str]:
    """What of the sweep's stores lives in a file of this machine (None: all are servers)."""
    from nnexp.search.storage import local_file

    if storage_url.startswith(("journal:", "sqlite:")):
        where = local_file(storage_url)
        return f"the study is in the file {where} on this machine (hydra.sweeper.storage)"
    if tracking_uri is not None and not tracking_uri.startswith(("http://", "https://")):
        return f"MLflow records to {tracking_uri} on this machine (tracking.uri)"
    return None
