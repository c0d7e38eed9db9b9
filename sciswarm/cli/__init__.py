"""The `sciswarm` command: every subcommand lives in this package (main, review, template, sandbox)."""

from sciswarm.cli.main import app

__all__ = ["app"]
