"""The coder's experiment tree search (``strategy: tree``): AI-Scientist-v2's best-first tree of draft / debug /
improve nodes over stages, each node a real sandboxed run in its own folder, nodes run in parallel on the lab,
and honest selection (each stage's best re-run with fresh seeds; the search value kept beside it).

- ``params.py``: the ``tree:`` params and the ``Objective``; ``objective.py``: the objective in code
- ``nodes.py``: ``Node``, ``StageRecord``, ``Tree`` and tree.json; ``policy.py``: which node to expand
- ``operators.py``: the model's draft / debug / improve edits and analyses; ``selection.py``: the best node
- ``lab.py``: a node's run, the baseline, the lab's slots; ``rerun.py``: the re-run with seeds
- ``journal.py``: the writer's summary in notes.txt; ``search.py``: the loop
"""

from sciswarm.agents.tree.params import Objective, TreeParams

__all__ = ["Objective", "TreeParams"]
