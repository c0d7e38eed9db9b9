"""An example plug-in role for sciswarm."""
