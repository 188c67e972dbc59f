# gmopt service image: Debian's ngspice (shared library and program) and the gmopt package.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ngspice libngspice0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/gmopt
COPY pyproject.toml README.md ./
COPY gmopt gmopt
COPY engine engine
COPY lut lut
COPY ota ota
COPY optimizer optimizer
COPY app app
COPY neuromorphic neuromorphic
COPY memristor memristor
COPY mismatch mismatch
COPY spice_templates spice_templates
RUN pip install --no-cache-dir .
RUN useradd --create-home gmopt && mkdir -p /data && chown gmopt /data
USER gmopt
ENV GMOPT_DATA_DIR=/data
EXPOSE 8000
CMD ["gmopt", "serve", "--host", "0.0.0.0", "--port", "8000"]
