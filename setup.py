"""maia-salt: install the MAIA platform with Salt.

The master-side Salt code at the top of the repository (``_pillar``, ``_runners``,
``_wrapper``, ``_orch_states``) is shipped inside the ``maia_salt`` package and announced to Salt
through the ``salt.loader`` entry point (see ``maia_salt.loader``). The code that
runs on the hosts (``_modules``, ``_states``, ``_grains``, ``_utils``) is not in the package:
it ships through the master's ``file_roots`` (``formulas/``).
"""
from setuptools import find_packages, setup

SALT_EXTENSION_DIRS = {
    "maia_salt.salt_ext.pillar": "_pillar",
    "maia_salt.salt_ext.runners": "_runners",
    "maia_salt.salt_ext.wrapper": "_wrapper",
    "maia_salt.salt_ext.states": "_orch_states",
}

setup(
    name="maia-salt",
    version="0.1.0",
    description="SaltStack formulas, modules and orchestration that install the MAIA platform",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    package_dir={"": "src", **SALT_EXTENSION_DIRS},
    packages=[*find_packages(where="src"), *SALT_EXTENSION_DIRS],
    package_data={"maia_salt": ["schemas/*.json"]},
    install_requires=[
        "salt==3008.4",
        "kubernetes==37.0.2",
        # 1.19+ refuses Repository.config.add_file, which Salt 3008 gitfs/git_pillar calls
        "pygit2==1.18.2",
        "PyYAML==6.0.4",
        "bcrypt==5.0.0",
        "cryptography==50.0.2",
        "click==8.5.1",
        "jsonschema==4.26.0",
        # the live view of `maia install` on a terminal
        "rich==15.0.0",
        # stage 4's Keycloak configuration (the admin REST client the MAIA toolkit uses too)
        "python-keycloak==7.1.1",
        # stage 4's MinIO bucket and policy (S3 and admin API client)
        "minio==7.2.20",
    ],
    extras_require={
        "test": [
            "pytest==9.2.0",
            "pytest-salt-factories==1.0.5",
            # `make test` runs the non-lab tier beside the lab tier (tests/conftest.py)
            "pytest-xdist==3.8.0",
        ],
    },
    entry_points={
        "console_scripts": [
            "maia-configure=maia_salt.configure_cli:main",
            "MAIA_Configure_Installation.sh=maia_salt.configure_cli:main",
            "maia=maia_salt.cli:main",
        ],
        "salt.loader": ["maia-salt=maia_salt.loader:get_salt_extension_dirs"],
    },
)
