"""`fastcart forget` answers in one line: a blank id is refused before anything starts, an id the
lake does not hold (or a lake with no tables yet) is "no data found", exit 0."""

from __future__ import annotations

import dagster as dg
from click.testing import CliRunner

from fastcart_assets.cli.main import cli
from fastcart_assets.forget.job import REQUEST_TAG


def test_blank_and_unknown_ids(settings):
    runner = CliRunner()
    blank = runner.invoke(cli, ["forget", " \t "])
    assert blank.exit_code == 1 and "a customer id is required" in blank.output
    assert "Traceback" not in blank.output

    unknown = runner.invoke(cli, ["forget", "CUST-NOBODY"])
    assert unknown.exit_code == 0, unknown.output
    assert "no data found" in unknown.output and "CUST-NOBODY" not in unknown.output
    instance = dg.DagsterInstance.get()  # the command's instance (DAGSTER_HOME)
    [run] = instance.get_runs()
    assert run.job_name == "forget_job" and REQUEST_TAG in run.tags
    assert run.status == dg.DagsterRunStatus.SUCCESS
