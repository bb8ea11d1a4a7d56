"""The loop of the reference runners (tests/*/parity_reference.py): cases as JSON on
stdin, one result each on stdout, a traceback as ``{"fatal": ...}`` for a case that
fails. Standard library only: it runs in the reference's throwaway virtualenv."""
import json
import sys
import traceback


def serve(run_case) -> None:
    out = []
    for case in json.load(sys.stdin):
        try:
            out.append(run_case(case))
        except Exception:  # noqa: BLE001  (reported per case)
            out.append({"fatal": traceback.format_exc()})
    json.dump(out, sys.stdout)
