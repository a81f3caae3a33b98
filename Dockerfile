# The source-stripe-conduit connector as an Airbyte Docker connector image.
#
#   docker build -t airbyte/source-stripe-conduit:0.1.0 .
#   docker run --rm airbyte/source-stripe-conduit:0.1.0 spec
#
# Then in Airbyte: Workspace settings -> Sources -> New connector -> "Add a new Docker connector".
#
# BASE_IMAGE defaults to Airbyte's Python connector base (Python 3.11, Debian bookworm), pinned by
# digest; keep it equal to connectorBuildOptions.baseImage in metadata.yaml. Any image with Python
# 3.11 as the PATH's `python` works: nothing below hard-codes where the base keeps Python.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.0@sha256:d9894b6895923b379f3006fa251147806919c62b7d9021b5cd125bb67d7bbe22

# ---- build: this project's wheel and its dependencies, installed into a venv of their own ----
FROM ${BASE_IMAGE} AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# 1. The dependencies, from setup.py alone, so this layer is rebuilt only when setup.py changes:
#    a wheel of setup.py without the source holds the project's metadata and install_requires
#    (the same ranges, no extras: no test or emulator dependencies), and installing it resolves them.
COPY setup.py .
RUN python -m venv /opt/source-stripe-conduit \
 && python -m pip wheel --use-pep517 --no-deps --wheel-dir /tmp/deps . \
 && /opt/source-stripe-conduit/bin/python -m pip install /tmp/deps/*.whl \
 && rm -rf /tmp/deps build *.egg-info
# 2. The project: the wheel `pip install .` builds, in place of the metadata-only one. Then the
#    installer (pip) leaves the runtime venv; setuptools stays, airbyte-cdk depends on it.
#    .dockerignore lets in only setup.py and the connector's package (no emulator, tests, venvs,
#    caches or .git), so this wheel is the connector's alone.
COPY . .
RUN python -m pip wheel --use-pep517 --no-deps --wheel-dir /tmp/dist . \
 && /opt/source-stripe-conduit/bin/python -m pip install --no-deps --force-reinstall /tmp/dist/*.whl \
 && /opt/source-stripe-conduit/bin/python -m pip check \
 && /opt/source-stripe-conduit/bin/python -m pip uninstall --yes pip \
 && /opt/source-stripe-conduit/bin/source-stripe-conduit spec >/dev/null

# ---- runtime: the base image plus the venv; no compilers, no build tree, no wheels ----
FROM ${BASE_IMAGE}
ARG BASE_IMAGE
# Airbyte's base image already has the non-root user `airbyte`; other bases get one (uid 1000).
RUN if ! id -u airbyte >/dev/null 2>&1; then \
        useradd --uid 1000 --user-group --create-home --shell /bin/bash airbyte; \
    fi \
 && mkdir -p /airbyte/integration_code \
 && chown airbyte:airbyte /airbyte/integration_code
COPY --from=build /opt/source-stripe-conduit /opt/source-stripe-conduit
ENV PATH=/opt/source-stripe-conduit/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    AIRBYTE_ENTRYPOINT="source-stripe-conduit"
WORKDIR /airbyte/integration_code
USER airbyte
LABEL io.airbyte.name="airbyte/source-stripe-conduit" \
      io.airbyte.version="0.1.0" \
      org.opencontainers.image.title="source-stripe-conduit" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
ENTRYPOINT ["source-stripe-conduit"]
