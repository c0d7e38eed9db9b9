"""Research templates: loading, checking and copying them.

A template follows The AI Scientist's contract, so existing templates work unmodified. It is a folder with

- ``experiment.py``: run as ``python experiment.py --out_dir=run_i``; writes ``run_i/final_info.json`` as
  ``{dataset: {"means": {metric: number}}}`` (other keys and files are allowed);
- ``plot.py``: run in the folder, reads the ``run_*`` folders and writes PNG figures beside them; the runs'
  legend labels live in a module-level dict named ``labels``;
- ``prompt.json``: ``{"system": ..., "task_description": ...}``;
- ``seed_ideas.json``: a list of ideas (Name, Title, Experiment, Interestingness, Feasibility, Novelty);
- ``latex/template.tex`` with a bibliography: ``\\bibliography{x}`` resolved by ``latex/x.bib`` or by a
  ``filecontents`` block in the .tex, or a ``thebibliography`` environment.

Any other file in the folder is a helper (code, data) and is carried into the workspace.

Modules: ``errors`` (exceptions), ``contract`` (required files, prompt/idea schemas, Template),
``final_info`` (a run's results), ``latex`` (placeholders, bibliography), ``latex_needs`` (the packages it needs
and which this host lacks), ``data`` (the data step: prepare scripts run once on the host, cached, mounted
read-only into runs), ``files`` (listing, copying),
``report`` (TemplateReport), ``loading`` (inspecting a folder, load_template), ``runners`` (through a
sandbox), ``check`` (check_template: the contract plus the baseline run, in the pipeline's sandbox).
"""

from __future__ import annotations

from sciswarm.templates.check import check_template, check_template_async
from sciswarm.templates.contract import (
    REQUIRED_FILES,
    IdeaSpec,
    Score,
    Template,
    TemplatePrompt,
    parse_prompt,
    parse_seed_ideas,
)
from sciswarm.templates.errors import FinalInfoError, TemplateError
from sciswarm.templates.files import SKIP_DIRS, copy_template, template_files
from sciswarm.templates.final_info import has_nonfinite, read_final_info, validate_final_info
from sciswarm.templates.latex import (
    SECTION_MARKER,
    fill_section,
    find_bibliography,
    section_placeholders,
    strip_tex_comments,
)
from sciswarm.templates.latex_needs import MissingTexFile, missing_tex_files
from sciswarm.templates.loading import load_template
from sciswarm.templates.report import Check, CheckStatus, TemplateReport
from sciswarm.templates.runners import Runner, pipeline_runner, sandbox_runner

__all__ = [
    "REQUIRED_FILES",
    "SECTION_MARKER",
    "SKIP_DIRS",
    "Check",
    "CheckStatus",
    "FinalInfoError",
    "IdeaSpec",
    "MissingTexFile",
    "Runner",
    "Score",
    "Template",
    "TemplateError",
    "TemplatePrompt",
    "TemplateReport",
    "check_template",
    "check_template_async",
    "copy_template",
    "fill_section",
    "find_bibliography",
    "has_nonfinite",
    "load_template",
    "missing_tex_files",
    "parse_prompt",
    "parse_seed_ideas",
    "pipeline_runner",
    "read_final_info",
    "sandbox_runner",
    "section_placeholders",
    "strip_tex_comments",
    "template_files",
    "validate_final_info",
]
