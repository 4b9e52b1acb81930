# One image for both processes: the default CMD runs the API; docker-compose.yml overrides the
# command with `python -m worker` for the Temporal worker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 petitionflow \
    && useradd --system --uid 10001 --gid petitionflow --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin petitionflow

# The slips as PDF (core/printing.py): pango draws, HarfBuzz subsets, the pages name the Noto
# CJK fonts. Without them the API answers 503 to a PDF, never a page of empty boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 \
        libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*

# Build from a scratch copy of the project, then drop it: the processes import the installed
# packages (with store's package data), never a source tree in the working directory.
COPY . /tmp/petitionflow
RUN pip install --no-cache-dir /tmp/petitionflow \
    && mkdir -p /etc/petitionflow && cp /tmp/petitionflow/policy.yaml /etc/petitionflow/ \
    && rm -rf /tmp/petitionflow

# The policy book lives outside the packages so an operator can mount their own.
ENV PETITIONFLOW_POLICY_FILE=/etc/petitionflow/policy.yaml \
    PETITIONFLOW_DATA_DIR=/app/var

WORKDIR /app
RUN chown petitionflow:petitionflow /app
USER petitionflow

EXPOSE 8000
CMD ["uvicorn", "--factory", "api.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
