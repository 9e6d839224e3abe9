"""Run by the reference toolkit's Python (AllenSDK 2.16.2): one shaped tutorial over a cache.

Usage: python reference_run.py REPO TUTORIAL CACHE_DIR OUT_JSON

Opens the AllenSDK's ``VisualBehaviorNeuropixelsProjectCache.from_local_cache(CACHE_DIR)``
(the files brainobs downloaded, in the AllenSDK's own layout), runs the tutorial module
``tests.tutorials.shaped.<TUTORIAL>`` on it and writes what each cell shows to OUT_JSON. Prints
its wall time as JSON on its last line.
"""

import importlib
import json
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")


def main():
    repo, tutorial, cache_dir, out = sys.argv[1:5]
    sys.path.insert(0, repo)
    from allensdk.brain_observatory.behavior.behavior_project_cache import (
        VisualBehaviorNeuropixelsProjectCache,
    )

    from tests.tutorials.shaped.outputs import encode

    start = time.perf_counter()
    module = importlib.import_module(f"tests.tutorials.shaped.{tutorial}")
    cache = VisualBehaviorNeuropixelsProjectCache.from_local_cache(cache_dir=cache_dir)
    shown = module.run(cache, {"cache_dir": cache_dir, "modern": False})
    Path(out).write_text(json.dumps({label: encode(v) for label, v in shown.items()}))
    print(json.dumps({"wall_s": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
