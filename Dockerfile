# syntax=docker/dockerfile:1
# Switchboard container image: the `switchboard` CLI on a distroless Node.js 24 runtime,
# running as a non-root user with production dependencies only.
#
#   docker build -t switchboard .
#   docker run --rm -p 9002:9002 -p 9003:9003 -p 9090:9090 switchboard serve --endpoints=10.0.0.5:8000
#
# Stages: `deps` installs production dependencies, `build` compiles TypeScript with every
# dependency, the runtime image copies the two results. test/deploy/dockerfile.test.ts runs the
# RUN lines of `deps` and `build` as ordinary commands in CI (there is no container engine there)
# and checks that the runtime stage holds everything dist/cli.js imports.
#
# The build stages' base is pinned by digest: node:24-bookworm-slim as the Docker Official Images
# record it (docker-library/repo-info, repos/node/remote/24-bookworm-slim.md: the multi-platform
# index of Node 24.18.1 on bookworm). The runtime is distroless, whose digests are published only
# by its registry: `scripts/pin-base-images.sh` pins every FROM line to the digest a registry
# answers today (crane or docker buildx), and the test requires the build stages pinned.

ARG NODE_VERSION=24

FROM node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script at runtime.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The context is only sources, tsconfigs, protos and the default workload family (.dockerignore).
COPY . .
RUN npm run build && mkdir -p out/bench/families && cp -r dist package.json out/ && cp bench/families/default.yaml out/bench/families/ && if [ -d proto ]; then cp -r proto out/; fi

FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/out ./
ENV NODE_ENV=production
# 65532 is distroless's `nonroot`; numeric so `runAsNonRoot` can verify it.
USER 65532:65532
# 9002 ext_proc (gRPC), 9003 gRPC health, 9090 Prometheus metrics, 8080 OpenAI-compatible proxy.
EXPOSE 9002 9003 9090 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli.js"]
CMD ["serve"]
