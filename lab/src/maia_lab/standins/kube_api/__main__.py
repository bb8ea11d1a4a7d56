"""``python -m maia_lab.standins.kube_api``: run the API stand-in (see server.main)."""
from .server import main

raise SystemExit(main())
