import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["sciswarm.testing.guard"]  # no test reaches a real model provider unless marked live_model
