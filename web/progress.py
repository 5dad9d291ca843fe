"""A progress bar on standard error for long commands (imports, large demo data).

Standard error, so that what a command prints on standard output (JSON, file names) stays
clean for scripts; on a terminal it redraws in place, elsewhere each phase is one line.
"""
import sys

import click


class ProgressBar:
    """The `start / advance / finish` protocol of `workflows.imports`, drawn with click."""

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self._bar = None

    def start(self, label, total):
        self.finish()
        if not self.file.isatty():  # a log: one line per phase, no redrawing
            click.echo(f"{label}：{int(total)} 项", file=self.file)
            return
        self._bar = click.progressbar(length=max(1, int(total)), label=f"{label:<8}",
                                      file=self.file, show_pos=True, show_percent=True,
                                      width=30)
        self._bar.__enter__()

    def advance(self, count=1):
        if self._bar is not None and count:
            self._bar.update(count)

    def finish(self):
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
