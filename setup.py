from setuptools import find_packages, setup

MAIN_REQUIREMENTS = [
    "airbyte-cdk>=7.39,<8",
    "requests>=2.32,<3",
    "pendulum>=3.0,<4",
    "orjson>=3.10,<4",
]

TEST_REQUIREMENTS = [
    "pytest>=8,<10",
    "requests-mock>=1.12,<2",
    "jsonschema>=4.17,<5",
    "aiohttp>=3.9,<4",
    "cryptography>=42,<47",
    "psutil>=5.9,<8",
    "ruff>=0.6,<1",
]

setup(
    name="source-stripe-conduit",
    version="0.1.0",
    description="Airbyte source for Stripe: Conduit's snapshot + CDC design, on the Airbyte CDK.",
    license="Apache-2.0",
    python_requires=">=3.11,<3.14",
    packages=find_packages(include=["source_stripe_conduit*", "stripe_emulator*"]),
    package_data={
        "source_stripe_conduit": ["schemas/*.json", "schemas/LICENSE-stripe-python"],
        "stripe_emulator": ["data/*", "README.md"],
    },
    install_requires=MAIN_REQUIREMENTS,
    extras_require={
        # The local Stripe emulator (quick start, tests, benchmark) needs aiohttp, and
        # cryptography for the certificate it makes to serve HTTPS.
        "emulator": ["aiohttp>=3.9,<4", "cryptography>=42,<47"],
        "tests": TEST_REQUIREMENTS,
        # PyAirbyte, for integration_tests/test_pyairbyte.py (skipped without it). Its 0.71 line
        # accepts airbyte-cdk 7.x, so it installs beside ours without moving it.
        "pyairbyte": ["airbyte>=0.71.3,<0.72"],
    },
    entry_points={"console_scripts": ["source-stripe-conduit=source_stripe_conduit.run:run"]},
)
