"""maia-salt-lab: the lab and the stand-ins, for development and CI (see maia_lab/__init__.py)."""
from setuptools import find_packages, setup

setup(
    name="maia-salt-lab",
    version="0.1.0",
    description="Local lab hosts and protocol stand-ins for testing maia-salt (not installed on sites)",
    python_requires=">=3.10",
    package_dir={"": "src"},
    packages=find_packages(where="src"),
    package_data={"maia_lab.lab": ["data/*"]},
    # the runtime versions are maia-salt's own pins (../setup.py)
    install_requires=["maia-salt==0.1.0"],
    extras_require={
        # tests/standins: saltext-kubernetes (Salt's own Kubernetes modules) against the API stand-in
        "test": ["saltext-kubernetes==3.0.0"],
    },
    entry_points={
        "maia.commands": [
            "lab=maia_lab.lab.cli:lab",
            "demo=maia_lab.demo:demo",
        ],
    },
)
