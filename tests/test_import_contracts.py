"""The layers of the tree (README, "Architecture"), as import-linter contracts in .importlinter:
the library (deepboot/) and the apps' cores import no Django and no site; the registry knows no
app; the site reaches the apps only through its URL and routing modules."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_every_import_contract_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
