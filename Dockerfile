# syntax=docker/dockerfile:1
#
# Lookout container image.
#
#   docker build -t lookout:0.1.0 .
#   docker run --rm -p 3000:3000 -e LOOKOUT_WEBHOOK_TOKEN=$(openssl rand -hex 32) \
#     -v lookout-state:/var/lib/lookout lookout:0.1.0          # console mode
#
# Base image: the official node:24 "bookworm-slim" variant for every stage.
# - The runtime runs the same Node binary and glibc the build used, and
#   `CMD ["node", ...]` works as written (node is on PATH).
# - A distroless nodejs24 image would drop the shell and apt, but its ENTRYPOINT is
#   the node binary (so CMD would have to change), it is tagged by Node major only,
#   and it has no shell for `kubectl exec` when something goes wrong at 3 a.m.
#   npm, npx, corepack and yarn are deleted from the runtime stage below, which
#   removes most of the difference that vulnerability scanners report.
#
# Pinned by tag. For reproducible builds add the digest as well, e.g.
#   --build-arg NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest>
# (get it with `docker buildx imagetools inspect node:24.21.0-bookworm-slim`) and let
# Renovate or Dependabot bump tag and digest together. Keep the Node version in step
# with the `node` devDependency in package.json.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- build: all dependencies, compile TypeScript to dist/ --------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Also runs the `node` devDependency's preinstall (it fetches a Node 24 binary for
# local development); harmless here, the build uses the same Node version.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY alerts ./alerts
RUN npm run build

# --- deps: production dependencies only, installed into a clean tree ---------------
# A fresh `npm ci --omit=dev` instead of `npm prune` in the build stage: nothing that
# the dev tools wrote into node_modules can leak into the image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --no-audit --no-fund

# --- runtime -----------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="lookout" \
      org.opencontainers.image.description="Slack chat-ops for production Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"

# The package managers are not needed to run Lookout. The state directory belongs to
# the runtime user; everything under /app stays root-owned and read-only to it.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /var/lib/lookout \
 && chown 10001:10001 /var/lib/lookout \
 && chmod 0750 /var/lib/lookout

# MALLOC_ARENA_MAX: two glibc malloc arenas instead of one per allocating thread (the store's
# worker thread is one); RSS after alert storms settles ~20 MiB lower (docs/deploy.md).
ENV NODE_ENV=production \
    PORT=3000 \
    LOOKOUT_STATE=/var/lib/lookout/lookout.db \
    MALLOC_ARENA_MAX=2

WORKDIR /app
# package.json is needed at run time: "type": "module" makes dist/*.js ES modules.
COPY package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist

# Numeric, so Kubernetes can verify runAsNonRoot without a passwd entry.
USER 10001:10001
EXPOSE 3000

# For `docker run`; Kubernetes ignores it and uses the Deployment's probes.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The official image's entrypoint execs this, so node runs as PID 1 and receives
# SIGTERM directly; Lookout handles it: stops taking requests, delivers what is due
# for up to shutdown.drainTimeoutMs (default 20 s, inside the Deployment's 30 s grace
# period), closes SQLite and exits.
CMD ["node", "dist/src/main.js"]
