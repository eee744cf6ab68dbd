# syntax=docker/dockerfile:1
# ekslink proxy image.
#   docker build -t ekslink-proxy --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --read-only -p 443:8443 -p 8080:8080 \
#     -v /etc/ekslink/proxy.yaml:/etc/ekslink/proxy.yaml:ro ekslink-proxy
# The proxy runs as uid 65532 on unprivileged ports (listen.port 8443, health 8080; see
# packaging/container/proxy.yaml); the runtime maps 443 to 8443. The image runs exactly the
# bundle `npm run build` writes (dist/ekslink.mjs), the file the tests spawn and the AMI bakes.

# Both bases are pinned by digest (the multi-arch index digests, amd64 and arm64); a base
# update is a reviewed change of these two lines. The runtime is distroless: Node.js only,
# no shell, no npm or yarn, no package manager.
ARG BUILD_IMAGE=node:24-bookworm-slim@sha256:242549cd46785b480c832479a730f4f2a20865d61ea2e404fdb2a5c3d3b73ecf
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a

# --- build: all dependencies, esbuild bundle ------------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the `node` devDependency would download a second Node; esbuild's
# platform binary arrives as an optional dependency without scripts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.mjs && node dist/ekslink.mjs proxy --help > /dev/null
# Source maps stay out of the image unless asked for (--build-arg SOURCEMAPS=true).
ARG SOURCEMAPS=false
RUN if [ "$SOURCEMAPS" != "true" ]; then rm -f dist/*.map; fi

# --- runtime: Node and the bundle only --------------------------------------------------
# esbuild inlines every production dependency into dist/, so the runtime stage needs no
# node_modules at all: nothing to install, nothing writable.
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="ekslink-proxy" \
      org.opencontainers.image.description="TLS-passthrough TCP proxy to a private EKS API server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
ENV NODE_ENV=production \
    EKSLINK_HEALTH_PORT=8080
WORKDIR /app
COPY --from=build --chown=root:root /src/dist /app/dist
COPY --chown=root:root packaging/container/proxy.yaml /etc/ekslink/proxy.example.yaml
# Distroless's unprivileged user.
USER 65532:65532
EXPOSE 8443 8080
# Nothing is written to disk: runs with --read-only and no tmpfs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.EKSLINK_HEALTH_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and receives SIGTERM/SIGHUP itself (there is no shell anyway).
# Node flags: common/node-flags.ts.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "/app/dist/ekslink.mjs", "proxy"]
CMD ["--config", "/etc/ekslink/proxy.yaml"]
