# sipi container image (see docs/operator-guide.md, "Running in Docker").
#
#   docker build -t sipi .
#   docker run -d --name sipi -p 1024:1024 --stop-timeout 30 \
#     -v /srv/images:/sipi/images:ro -v sipi-cache:/sipi/cache sipi
#
# Three stages on Debian 12: the viewer assets (npm), the build, and a runtime with only the
# shared libraries the binary links against. Layout as in SIPI's image: /sipi/config,
# /sipi/images, /sipi/cache, /sipi/scripts, /sipi/server; port 1024.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# --- OpenSeadragon for the demo page (server/vendor), pinned by package-lock.json ----------
FROM ${DEBIAN_IMAGE} AS assets
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /assets
COPY package.json package-lock.json ./
# Extra CA certificates for a TLS-intercepting proxy (deploy/container/build.sh puts the host's
# there; empty otherwise). They stay in this stage: the runtime image does not get them.
COPY deploy/container/ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates > /dev/null \
 && NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm ci --no-audit --no-fund --loglevel=error \
 && cp -r node_modules/openseadragon/build/openseadragon ./openseadragon

# --- Build ---------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
# scripts/setup.sh's list, less what only the tests need (GoogleTest, Python, exiftool, ...).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libvips-dev libboost1.81-dev liblua5.4-dev nlohmann-json3-dev libcli11-dev \
      libtiff-dev libopenjp2-7-dev libopenjph-dev libjpeg-dev libexiv2-dev liblcms2-dev \
      protobuf-compiler libprotobuf-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libmagic-dev \
      libseccomp-dev libcairo2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what CMakeLists.txt compiles (tests/e2e/test_deploy.py checks that this stays true).
COPY CMakeLists.txt ./
COPY src ./src
COPY bench/src ./bench/src
COPY deploy ./deploy
ARG JOBS=
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build /build --target sipi -j "${JOBS:-$(nproc)}" \
 && strip /build/sipi \
 && /build/sipi --version

# --- Runtime -------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime
# The packages of the libraries the binary links against (ldd + dpkg -S; checked by
# tests/e2e/test_deploy.py), plus CA certificates for server.http() and tini as PID 1.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libvips42 libglib2.0-0 libtiff6 libopenjp2-7 libopenjph0.9 libjpeg62-turbo liblua5.4-0 libexiv2-27 \
      liblcms2-2 libprotobuf-lite32 libssl3 libcurl4 libsqlite3-0 libmagic1 libseccomp2 libcairo2 zlib1g libstdc++6 libgcc-s1 \
      ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 1024 sipi \
 && useradd --uid 1024 --gid sipi --home-dir /sipi --no-create-home --shell /usr/sbin/nologin sipi \
 && mkdir -p /sipi/config /sipi/images /sipi/cache /sipi/scripts /sipi/server \
 && chown sipi:sipi /sipi/cache

COPY --from=build /build/sipi /usr/local/bin/sipi
# SIPI's image has the binary at /sbin/sipi; existing probes (`/sbin/sipi health`) keep working.
RUN ln -s /usr/local/bin/sipi /usr/sbin/sipi
COPY deploy/docker.config.lua /sipi/config/sipi.config.lua
COPY images/samples /sipi/images/samples
COPY server /sipi/server
COPY --from=assets /assets/openseadragon /sipi/server/vendor/openseadragon

WORKDIR /sipi
USER 1024:1024
EXPOSE 1024
# sipi drains on SIGTERM: in-flight requests finish (drain_timeout, 25 s in this config).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/sipi", "health", "--port", "1024"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/sipi"]
CMD ["server", "--config=/sipi/config/sipi.config.lua"]
