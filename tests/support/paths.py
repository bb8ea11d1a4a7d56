"""Where things are, for every test: the checkout and the Salt commands of this venv."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's scripts: salt-call, salt-run, salt-ssh, maia
SALT_CALL = str(BIN / "salt-call")
