from __future__ import annotations

import pytest
from pydantic import ValidationError

from expectations.params import ValidationParams


def test_defaults_and_extra_keys():
    p = ValidationParams()
    assert p.enabled and p.raw and p.docs and p.pseudonym_forms["hash.sha256"] == "hex64"
    with pytest.raises(ValidationError):
        ValidationParams.model_validate({"nope": 1})


@pytest.mark.parametrize("bad", [{"pseudonym_forms": {"x": "[unclosed"}}, {"workers": 0},
                                 {"k_anonymity": [{"table": "users", "columns": [], "k": 5}]},
                                 {"events_tolerance": 2}])
def test_bad_values(bad):
    with pytest.raises(ValidationError):
        ValidationParams.model_validate(bad)


def test_config_loading_does_not_import_gx():
    import subprocess
    import sys

    code = "import sys, anonbench.config; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
