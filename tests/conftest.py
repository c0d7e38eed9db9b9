import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["sciswarm.testing.guard"]  # no test reaches a real model provider unless marked live_model


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def demo_baselines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of the demo template's baseline run_0 for every demo run of the session (tests/e2e, the Ray
    executor's demo): link it as ``<runs_dir>/.baselines``. The first run computes it; the rest reuse it."""
    return tmp_path_factory.mktemp("demo-baselines")
