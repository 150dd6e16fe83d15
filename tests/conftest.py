import os
import pathlib
import sys

from hypothesis import HealthCheck, settings

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for demo/ and benchmarks/ helpers

# `ci` (the default, used by make test) keeps the suite short and reproducible (derandomized:
# a submission never fails on a newly drawn example); `dev` draws fresh examples and digs deeper:
#   HYPOTHESIS_PROFILE=dev .venv/bin/python -m pytest
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
