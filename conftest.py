"""pytest plugin of the project: nbval's execution of a notebook fills the book's execution cache.

With ``--execution-cache=DIR`` (``make test-notebooks`` passes ``_build/.jupyter_cache``), each
notebook that nbval runs to the end with every cell passing is written, with the outputs nbval
collected, as an executed notebook, and filed in the jupyter-cache at DIR; the book build
(``execute_notebooks: cache``) then takes it from there instead of executing it again. A notebook
with a failing, skipped or deselected cell is not filed (the build executes it itself).

Works with pytest-xdist (``-n 2 --dist loadscope``: each notebook's cells run on one worker, in
order): a worker writes each executed notebook to its own file under ``DIR/../.nbval-executed``;
the controlling process files them all into the cache (one sqlite writer) when the session ends.
See :mod:`theory.core._cache`. Without the option this plugin does nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.getgroup("nbval").addoption(
        "--execution-cache", action="store", default=None, metavar="DIR",
        help="file each notebook nbval runs cleanly into the jupyter-cache at DIR (the book "
             "build's execution cache), so that the build need not execute it again")


def _cache_dir(config) -> Path | None:
    value = config.getoption("execution_cache", default=None)
    return Path(value).resolve() if value else None


def _staging(cache: Path) -> Path:
    return cache.parent / ".nbval-executed"


def _is_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell_num")


class _Run:
    """What one notebook's cells left behind, in the process that runs them."""

    def __init__(self):
        self.outputs: dict[int, list] = {}
        self.ok = True
        self.seconds = 0.0
        self.language_info = None


def pytest_configure(config):
    config._execution_runs = {}
    if _cache_dir(config) is not None:
        _execute_as_nbclient()


def _execute_as_nbclient():
    """Make nbval send each cell as nbclient (the book build) does: with ``store_history=True``.

    nbval 0.11 sends ``store_history=False``; IPython then neither counts executions nor keeps
    the cell in its history, and so does not see a trailing ``;`` (it looks for it in the
    history): the cell's value is shown where the book build would show nothing. The outputs
    filed in the cache must be the build's own.
    """
    from nbval.kernel import RunningKernel

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin,
                               stop_on_error=False)

    RunningKernel.execute_cell_input = execute_cell_input


def pytest_sessionstart(session):
    cache = _cache_dir(session.config)
    if cache is not None and not hasattr(session.config, "workerinput"):
        import shutil

        shutil.rmtree(_staging(cache), ignore_errors=True)  # leftovers of an interrupted run


# nbval waits only 5 s for a cell's outputs after the kernel has replied; on a loaded 2-core
# machine (two kernels, each drawing explorer frames) that fails a cell whose code passed. The
# cell's own time limit stays nbval's --nbval-cell-timeout.
OUTPUT_TIMEOUT_S = 60


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    config = item.config
    if _is_cell(item):
        item.output_timeout = max(getattr(item, "output_timeout", 0), OUTPUT_TIMEOUT_S)
    if _cache_dir(config) is not None and _is_cell(item) and item.cell_num == 0:
        run = config._execution_runs.setdefault(item.parent.nodeid, _Run())
        try:  # the kernel's language_info, as nbclient stores it in an executed notebook
            reply = item.parent.kernel.kc.kernel_info(reply=True, timeout=30)
            run.language_info = reply["content"].get("language_info")
        except Exception:  # noqa: BLE001 - without it the notebook is simply not filed
            run.ok = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    config = item.config
    cache = _cache_dir(config)
    if cache is None or not _is_cell(item):
        return report
    run = config._execution_runs.setdefault(item.parent.nodeid, _Run())
    run.seconds += report.duration
    if not report.passed:
        run.ok = False
    if report.when != "call":
        return report
    run.outputs[item.cell_num] = list(item.test_outputs or [])
    n_code = sum(c.cell_type == "code" for c in item.parent.nb.cells)
    if len(run.outputs) == n_code and run.ok and run.language_info:
        from theory.core._cache import executed_notebook, stage_notebook

        nb = executed_notebook(item.parent.nb, [run.outputs[i] for i in range(n_code)],
                               language_info=run.language_info)
        stage_notebook(nb, item.parent.path, _staging(cache), seconds=round(run.seconds, 2))
    return report


def pytest_sessionfinish(session, exitstatus):
    cache = _cache_dir(session.config)
    if cache is None or hasattr(session.config, "workerinput"):
        return
    from theory.core._cache import import_staged

    filed = import_staged(_staging(cache), cache)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"execution cache: {len(filed)} executed notebooks filed in {cache}")
