"""Browse a real sweep the way a person does: the MLflow UI in headless Chromium, optuna-dashboard.

One tiny digits sweep (6 trials of 4 epochs, ~10 s) is run once per module with seeds that give
completed, pruned and diverged trials. Then:

- ``nnexp ui`` serves it on 127.0.0.1 and Chromium (Debian's ``/usr/bin/chromium`` driven by
  Playwright, no browser download) opens the experiment, expands the sweep's parent run to its
  nested trial runs, checks names, states and param/metric columns, sorts by ``val_accuracy``,
  opens the best trial's metric charts and artifacts and the parent run's description and
  Optuna plots, saving a screenshot of each step;
- ``optuna-dashboard`` reads the sweep's journal file as it is and its API lists the trials.

Screenshots go to the test's tmp dir; ``NNEXP_SCREENSHOT_DIR=docs/images`` also writes the
README's ``mlflow-sweep.png`` there. Every server binds to 127.0.0.1 on a free port and is
stopped by the test, also on failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from helpers import BIN, NNEXP, NNEXP_TRAIN, cli_env, free_port, serve

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("NNEXP_CHROMIUM", "/usr/bin/chromium")
#: Flags this machine's Chromium needs; without the background-networking ones its
#: connections get refused en masse. Playwright adds a fresh empty --user-data-dir itself.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STUDY = "digits"
#: 6 trials, seed 1: lr 10 diverges (PRUNED, ``[diverged]``) or is pruned, lr 1e-6/0.02 are
#: pruned or complete.
SWEEP = [
    "hparams_search=digits",
    "trainer.epochs=4",
    "model.depth=int(interval(1,2))",
    "model.width=32",
    "trainer.batch_size=32",
    "model.dropout=0.0",
    "model.l2=0.0001",
    "optimizer=sgd",
    "optimizer.lr=choice(0.1,0.02,0.000001,10.0)",
    "hydra.sweeper.n_trials=6",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.sampler.seed=1",
    "hydra.sweeper.pruner.n_startup_trials=1",
    "hydra.sweeper.pruner.n_warmup_steps=0",
]
README_SHOT = "mlflow-sweep.png"
#: The sweep's terminal output, kept in its launch directory.
SWEEP_OUTPUT = "sweep.out"


def get(url: str, timeout: float = 5.0) -> bytes:
    """The body of a GET request."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # 127.0.0.1 only
        return resp.read()


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A launch directory holding one finished tiny sweep (``mlruns/``)."""
    cwd = tmp_path_factory.mktemp("ui-sweep")
    proc = subprocess.run(
        [NNEXP_TRAIN, "-m", *SWEEP],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"sweep failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (cwd / SWEEP_OUTPUT).write_text(proc.stdout + proc.stderr)
    return cwd


def sweep_runs(cwd: Path) -> tuple[str, Any, dict[int, Any]]:
    """(experiment id, parent run, {trial number: child run}) from the sweep's MLflow store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("nnexp")
    found = client.search_runs([exp.experiment_id], max_results=100)
    parent = next(r for r in found if r.data.tags.get("nnexp.role") == "sweep")
    children = {int(r.data.tags["nnexp.trial"]): r for r in found if r.data.tags.get("nnexp.role") == "trial"}
    return exp.experiment_id, parent, children


def ui_state(experiment_id: str) -> str:
    """An init script for the MLflow UI's local storage, as a returning user would have it.

    The "Model training" workflow (MLflow 3 opens on GenAI), the assistant panel closed, and the
    sweep's hyperparameters, final metrics and trial state picked as run-table columns.
    """
    page_state = {
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
        "selectedColumns": [
            "params.`optimizer.lr`",
            "params.`model.depth`",
            "metrics.`val_accuracy`",
            "metrics.`test_accuracy`",
            "tags.`nnexp.trial_state`",
        ],
    }
    items = {
        "mlflow.workflowType_v1": json.dumps("machine_learning"),
        "mlflow.assistant.panelOpen_v1": "false",
        "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
        f'MLflowLocalStorage-1.1-ExperimentPage-["{experiment_id}"]-ReactComponentState': json.dumps(
            page_state
        ),
    }
    return "\n".join(f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in items.items())


def shot(page: Any, out: Path, name: str) -> Path:
    """Screenshot of the page into ``out``."""
    path = out / name
    page.screenshot(path=str(path))
    return path


def image_shown(page: Any, seen: list[str]) -> None:
    """Wait until the artifact preview shows a new loaded image (not one of ``seen``)."""
    src = page.wait_for_function(
        """seen => {
            const img = [...document.images].find(
                i => i.complete && i.naturalWidth > 200 && !seen.includes(i.src));
            return img ? img.src : false;
        }""",
        arg=seen,
    ).json_value()
    seen.append(src)


def test_mlflow_ui_shows_the_sweep_runs_charts_and_artifacts(swept: Path, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a cold UI on 2 busy cores takes seconds per view

    exp_id, parent, children = sweep_runs(swept)
    states = {n: r.data.tags["nnexp.trial_state"] for n, r in children.items()}
    assert set(states.values()) == {"COMPLETE", "PRUNED"}, states
    assert any(r.info.run_name.endswith(" [diverged]") for r in children.values())
    best = int(parent.data.tags["best.trial"])
    best_run = children[best]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    db = f"sqlite:///{swept / 'mlruns' / 'mlflow.db'}"
    with (
        serve(
            [NNEXP, "ui", "--backend-store-uri", db, "--port", str(port)],
            f"{base}/health",
            swept,
            tmp_path / "mlflow-ui.log",
        ),
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 760})
            ctx.set_default_timeout(30_000)
            ctx.add_init_script(ui_state(exp_id))
            page = ctx.new_page()

            # the experiment's runs: the sweep's parent run, its trials nested under it
            page.goto(f"{base}/#/experiments/{exp_id}/runs")
            parent_row = page.locator("[role=row]", has_text=f"sweep-{STUDY}").first
            expect(parent_row).to_be_visible()
            parent_row.locator("button").first.click()  # the expander in the name cell
            for run in children.values():
                expect(page.get_by_text(run.info.run_name, exact=True)).to_be_attached()
            rows = page.locator("[role=row]", has_text="trial-")
            expect(rows).to_have_count(len(children))
            header = page.locator("[role=columnheader]")
            for column in (
                "optimizer.lr",
                "model.depth",
                "val_accuracy",
                "nnexp.trial_state",
            ):
                expect(header.filter(has_text=column).first).to_be_visible()
            for state in ("COMPLETE", "PRUNED"):
                expect(page.get_by_text(state, exact=True).first).to_be_visible()
            readme = shot(page, shots, README_SHOT)

            # sort by a final metric: clicking its header orders the trials by it
            page.locator("[role=columnheader]", has_text="val_accuracy").last.click()
            scored = [n for n in children if "val_accuracy" in children[n].data.metrics]
            ranked = sorted(scored, key=lambda n: children[n].data.metrics["val_accuracy"])
            names = [children[n].info.run_name for n in ranked]
            # ag-grid positions rows absolutely: the visual order is the row-index attribute
            page.wait_for_function(
                """names => {
                    const rows = [...document.querySelectorAll('[role=row][row-index]')]
                        .filter(r => r.textContent.includes('trial-'));
                    if (!rows.length) return false;
                    const top = Math.min(...rows.map(r => +r.getAttribute('row-index')));
                    const text = rows.filter(r => +r.getAttribute('row-index') === top)
                        .map(r => r.textContent).join(' ');
                    return names.some(n => text.includes(n));
                }""",
                arg=[
                    names[-1],
                    names[0],
                ],  # best first (descending) or worst first (ascending)
            )
            shot(page, shots, "2-sorted-by-val_accuracy.png")

            # the best trial: its description, per-epoch metric charts and artifacts
            run_url = f"{base}/#/experiments/{exp_id}/runs/{best_run.info.run_id}"
            page.goto(run_url)
            expect(page.get_by_text(best_run.info.run_name).first).to_be_visible()
            expect(page.get_by_text(f"Trial {best} of sweep").first).to_be_visible()
            page.get_by_role("tab", name="Model metrics").click()
            page.get_by_placeholder("Search metric charts").fill("val_accuracy")
            expect(page.get_by_text("val_accuracy", exact=True).first).to_be_visible()
            expect(page.locator(".js-plotly-plot").first).to_be_visible()
            expect(page.locator(".js-plotly-plot .scatterlayer .trace").first).to_be_attached()
            shot(page, shots, "3-best-trial-metrics.png")
            page.get_by_role("tab", name="Artifacts").click()
            page.get_by_text("plots", exact=True).click()
            page.get_by_text("learning_curves.png", exact=True).click()
            seen: list[str] = []
            image_shown(page, seen)
            shot(page, shots, "4-best-trial-learning-curves.png")
            page.get_by_text("confusion_matrix.png", exact=True).click()
            image_shown(page, seen)

            # the parent run: the sweep's summary and Optuna's plots
            page.goto(f"{base}/#/experiments/{exp_id}/runs/{parent.info.run_id}")
            expect(page.get_by_text(f"Sweep {STUDY}").first).to_be_visible()
            expect(page.get_by_text(f"trial {best}").first).to_be_visible()
            shot(page, shots, "5-sweep-description.png")
            page.get_by_role("tab", name="Artifacts").click()
            page.get_by_text("plots", exact=True).click()
            page.get_by_text("optimization_history.png", exact=True).click()
            image_shown(page, seen)
            shot(page, shots, "6-sweep-optimization-history.png")
        finally:
            browser.close()
    out_dir = os.environ.get("NNEXP_SCREENSHOT_DIR")
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        shutil.copy(readme, Path(out_dir) / README_SHOT)


def test_optuna_dashboard_reads_the_sweep_journal(swept: Path, tmp_path: Path) -> None:
    """``optuna-dashboard mlruns/optuna/journal.log`` serves the study, no conversion."""
    exe = BIN / "optuna-dashboard"
    assert exe.exists(), "optuna-dashboard is in the test extra (pip install -e '.[test]')"
    journal = swept / "mlruns" / "optuna" / "journal.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(
        [str(exe), str(journal), "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        f"{base}/api/studies",
        swept,
        tmp_path / "optuna-dashboard.log",
    ):
        summaries = json.loads(get(f"{base}/api/studies"))["study_summaries"]
        study = next(s for s in summaries if s["study_name"] == STUDY)
        assert study["directions"] == ["maximize"]
        detail = json.loads(get(f"{base}/api/studies/{study['study_id']}", timeout=30))
    trials = detail["trials"]
    assert len(trials) == 6
    assert {t["state"] for t in trials} == {"Complete", "Pruned"}
    assert all({p["name"] for p in t["params"]} == {"optimizer.lr", "model.depth"} for t in trials)
    assert any(t["intermediate_values"] for t in trials if t["state"] == "Pruned")


def printed_link(text: str, prefix: str) -> str:
    """The first address on a line starting with ``prefix`` in a command's output."""
    match = re.search(rf"^.*{re.escape(prefix)}.*?(http://\S+)", text, re.MULTILINE)
    assert match, f"no {prefix!r} line with an address in:\n{text[-3000:]}"
    return match.group(1)


def on_port(url: str, port: int) -> str:
    """``url`` served by the test's UI: only the port changes (the default 5000 may be taken)."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1", url
    return urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


def test_printed_links_land_a_fresh_browser_on_runs(swept: Path, tmp_path: Path) -> None:
    """Every address nnexp prints opens the right page in a browser with no saved UI state:
    ``nnexp ui``'s experiment link (the runs table, not MLflow 3's GenAI overview), the run link
    of a single run's summary, the sweep's parent-run link and the links in its description."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    exp_id, parent, children = sweep_runs(swept)
    best_run = children[int(parent.data.tags["best.trial"])]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ui_log = tmp_path / "nnexp-ui.log"
    with (
        serve([NNEXP, "ui", "--port", str(port)], f"{base}/health", swept, ui_log),
        sync_playwright() as pw,
    ):
        experiment_link = printed_link(ui_log.read_text(), "open:")
        assert experiment_link.startswith(f"{base}/#/experiments/{exp_id}/runs?")
        # a single run tracked on this UI's server: its summary prints the run's address
        train = subprocess.run(
            [
                NNEXP_TRAIN,
                "trainer.epochs=2",
                "model.width=16",
                f"tracking.uri={base}",
                "tracking.log_plots=false",
                "tracking.run_name=single-run",
            ],
            cwd=swept,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert train.returncode == 0, train.stderr[-3000:]
        run_link = printed_link(train.stdout, "open it:")
        assert re.fullmatch(rf"{re.escape(base)}/#/experiments/{exp_id}/runs/[0-9a-f]{{32}}", run_link)
        parent_link = on_port(printed_link((swept / SWEEP_OUTPUT).read_text(), "[sweep] open it:"), port)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:

            def fresh_page() -> Any:  # a new context: empty local storage, like a first visit
                ctx = browser.new_context(viewport={"width": 1400, "height": 760})
                ctx.set_default_timeout(30_000)
                return ctx.new_page()

            page = fresh_page()
            page.goto(experiment_link)
            expect(page.locator("[role=row]", has_text=f"sweep-{STUDY}").first).to_be_visible()
            expect(page.locator("[role=row]", has_text="single-run").first).to_be_visible()
            shot(page, tmp_path, "link-1-runs-table.png")

            page = fresh_page()
            page.goto(run_link)
            expect(page.get_by_text("single-run").first).to_be_visible()
            expect(page.get_by_role("tab", name="Model metrics")).to_be_visible()
            shot(page, tmp_path, "link-2-run-page.png")

            page = fresh_page()
            page.goto(parent_link)
            expect(page.get_by_text(f"Sweep {STUDY}").first).to_be_visible()
            link = page.get_by_role("link", name=f"trial {parent.data.tags['best.trial']}").first
            expect(link).to_be_attached()
            # the description's links open in a new tab: open the address the browser resolves
            target = urllib.parse.urljoin(page.url, link.get_attribute("href"))
            trial_page = fresh_page()
            trial_page.goto(target)
            expect(trial_page).to_have_url(
                re.compile(rf"/#/experiments/{exp_id}/runs/{best_run.info.run_id}$")
            )
            expect(trial_page.get_by_text(best_run.info.run_name).first).to_be_visible()
            expect(
                trial_page.get_by_text(f"Trial {parent.data.tags['best.trial']} of sweep").first
            ).to_be_visible()
            shot(trial_page, tmp_path, "link-3-best-trial-from-description.png")
        finally:
            browser.close()
