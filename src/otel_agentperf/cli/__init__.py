"""The ``agentperf`` command line: record a run, report on it, compare two recordings, check the setup.

Every command works on OTLP JSON lines, the format of the OpenTelemetry Collector's file exporter, so a file written
by a real Collector can be reported and compared too. Exit codes: 0 fine, 1 a regression (``compare``) or a problem
(``doctor``), 2 bad input; ``record`` exits with the recorded command's status.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
FORMATS = ("text", "markdown", "json", "html")
TEXT_WIDTH = 120
DESCRIPTION = "Record an agent's runs, report on them with recommendations, compare two recordings, check the setup."


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``agentperf`` command; returns the exit status."""
    parser = _parser()
    options = parser.parse_args(argv)
    if options.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(options.run(options))
    except _BadInput as error:
        print(f"agentperf {options.command}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `agentperf report ... | head`
        return 0


class _BadInput(Exception):
    """Input the command cannot use; the message says why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentperf", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    record = commands.add_parser("record", help="run a command instrumented and write its telemetry to a file")
    record.add_argument("-o", "--output", type=Path, required=True, help="OTLP JSON lines file to write")
    record.add_argument("-q", "--quiet", action="store_true", help="no status line or summary")
    record.add_argument("program", nargs=argparse.REMAINDER, help="the command to run (after --)")
    record.set_defaults(run=_run_record)

    report = commands.add_parser("report", help="performance report of recorded runs, with recommendations")
    report.add_argument("files", nargs="+", type=Path, help="OTLP JSON lines files")
    report.add_argument("--format", choices=FORMATS, default="text")
    report.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    report.set_defaults(run=_run_report)

    compare = commands.add_parser("compare", help="compare two recordings; exit 1 on a regression")
    compare.add_argument("base", type=Path)
    compare.add_argument("new", type=Path)
    compare.add_argument(
        "--threshold", help="allowed growth of each figure, e.g. duration=10%%,tokens=5%%,cost=5%% (the defaults)"
    )
    compare.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    compare.set_defaults(run=_run_compare)

    doctor = commands.add_parser("doctor", help="check instrumentors, exporter, content capture and sampling")
    doctor.add_argument("--format", choices=("text", "json"), default="text")
    doctor.set_defaults(run=_run_doctor)
    return parser


def _run_record(options: argparse.Namespace) -> int:
    from otel_agentperf.cli._record import record

    program = list(options.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        raise _BadInput("no command given: agentperf record -o FILE -- COMMAND ...")
    if not options.output.parent.is_dir():
        raise _BadInput(f"{options.output.parent}: no such directory")
    return record(options.output, program, quiet=options.quiet)


def _analyse(paths: Sequence[Path]) -> Any:
    from otel_agentperf.cli._analysis import analyse
    from otel_agentperf.cli._otlp import InputError

    try:
        return analyse(paths)
    except InputError as error:
        raise _BadInput(str(error)) from None


def _run_report(options: argparse.Namespace) -> int:
    from otel_agentperf.cli import _report as report_module

    analysis = _analyse(options.files)
    report = report_module.build(analysis)
    for warning in report["warnings"]:
        print(f"agentperf report: warning: {warning}", file=sys.stderr)
    if options.format == "text" and options.output is None:
        from rich.console import Console

        console = Console()
        if not console.is_terminal:  # a pipe or a file: no terminal width to fit
            console = Console(width=TEXT_WIDTH)
        report_module.print_text(report, console)
        return 0
    if options.format == "text":
        from rich.console import Console

        with options.output.open("w", encoding="utf-8") as handle:
            report_module.print_text(report, Console(file=handle, width=TEXT_WIDTH))
        return 0
    if options.format == "json":
        text = json.dumps(report, indent=2) + "\n"
    elif options.format == "markdown":
        text = report_module.to_markdown(report)
    else:
        from otel_agentperf.cli._html import to_html

        text = to_html(report, analysis)
    _write(text, options.output)
    return 0


def _run_compare(options: argparse.Namespace) -> int:
    from otel_agentperf.cli import _compare as compare_module
    from otel_agentperf.cli._report import markdown_table

    try:
        thresholds = compare_module.parse_thresholds(options.threshold)
        base, new = _analyse([options.base]), _analyse([options.new])
        changes = compare_module.compare(base, new, thresholds)
    except compare_module.CompareError as error:
        raise _BadInput(str(error)) from None
    regressed = [change for change in changes if change.regressed]
    verdict = (
        f"{len(regressed)} regression(s): " + ", ".join(f"{c.agent} {c.figure}" for c in regressed)
        if regressed
        else "no regression beyond the thresholds"
    )
    if options.format == "json":
        document = {"regressed": bool(regressed), "changes": [change.to_dict() for change in changes]}
        _write(json.dumps(document, indent=2) + "\n", None)
    elif options.format == "markdown":
        header, rows = compare_module.render_rows(changes)
        mark = ":x:" if regressed else ":white_check_mark:"
        lines = [f"### Agent performance: {mark} {verdict}", "", *markdown_table(header, rows), ""]
        lines.append(
            f"Base: `{options.base}`, new: `{options.new}`. Thresholds: "
            + ", ".join(f"{name} {value:.0%}" for name, value in thresholds.items())
        )
        _write("\n".join(lines) + "\n", None)
    else:
        from rich.console import Console
        from rich.table import Table

        header, rows = compare_module.render_rows(changes)
        table = Table(title=f"{options.base} -> {options.new}", title_justify="left")
        for index, name in enumerate(header):
            table.add_column(name, justify="right" if 1 < index < 5 else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
        console = Console()
        console.print(table)
        console.print(verdict, style="bold red" if regressed else "bold green", markup=False)
    return 1 if regressed else 0


def _run_doctor(options: argparse.Namespace) -> int:
    from otel_agentperf.cli._doctor import as_json, diagnose, render

    findings = diagnose()
    if options.format == "json":
        _write(json.dumps(as_json(findings), indent=2) + "\n", None)
    else:
        _write("\n".join(render(findings)) + "\n", None)
    return 1 if any(finding.status == "problem" for finding in findings) else 0


def _write(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        path.write_text(text, encoding="utf-8")
