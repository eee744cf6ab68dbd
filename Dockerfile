# syntax=docker/dockerfile:1
# ekslink proxy image. Build:  docker build -t ekslink-proxy .
# Run:  docker run --read-only -p 443:443 -p 8080:8080 \
#         -v /etc/ekslink/proxy.yaml:/etc/ekslink/proxy.yaml:ro ekslink-proxy
# The image runs exactly the bundle `npm run build` writes (dist/ekslink.mjs), the same
# file the tests spawn and the CDK fleet ships.

ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- build: all dependencies, esbuild bundle ------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the `node` devDependency would download a second Node; esbuild's
# platform binary arrives as an optional dependency without scripts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.mjs && node dist/ekslink.mjs proxy --help > /dev/null

# --- runtime: Node and the bundle only --------------------------------------------------
# esbuild inlines every production dependency into dist/, so the runtime stage needs no
# node_modules at all: nothing to install, nothing writable.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    EKSLINK_HEALTH_PORT=8080
WORKDIR /app
COPY --from=build --chown=root:root /src/dist /app/dist
COPY --chown=root:root packaging/ekslink-proxy.example.yaml /etc/ekslink/proxy.example.yaml
# The node image's unprivileged user (uid 1000). Docker 20.10+ sets
# net.ipv4.ip_unprivileged_port_start=0 in the container, so :443 binds without root.
USER node
EXPOSE 443 8080
# Nothing is written to disk: runs with --read-only and no tmpfs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.EKSLINK_HEALTH_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and receives SIGTERM/SIGHUP itself (no shell in between).
ENTRYPOINT ["node", "/app/dist/ekslink.mjs", "proxy"]
CMD ["--config", "/etc/ekslink/proxy.yaml"]
