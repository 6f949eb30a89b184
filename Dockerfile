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
# Base images are referenced by tag. For reproducible builds pin them by digest, e.g.
#   FROM node:24-bookworm-slim@sha256:<digest> AS deps   (and the same in `build`)
#   FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:<digest>
# with the digests from `docker buildx imagetools inspect <image>` or `crane digest <image>` on
# the day you pin (the test accepts either form).

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script at runtime.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The context is only sources, tsconfigs and protos (.dockerignore).
COPY . .
RUN npm run build && mkdir -p out && cp -r dist package.json out/ && if [ -d proto ]; then cp -r proto out/; fi

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
