from sciswarm.cli import app

app(prog_name="sciswarm")
