# syntax=docker/dockerfile:1
# pullsecret-sync container image: TypeScript compiled in a full Node image, production dependencies
# installed in a stage of their own, and only those plus dist/ copied into a distroless, non-root
# Node 24 runtime (no shell, no package manager). Build: docker build -t pullsecret-sync .
# Behind a TLS-intercepting proxy, hand the build its CA without baking it into the image:
#   docker build --secret id=host-ca,src=/etc/ssl/certs/ca-certificates.crt -t pullsecret-sync .
# The base images are arguments so a build without access to their registries can name stand-ins (the
# testbed does: test/testbed/base-images.ts); the defaults are the public images.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: all dependencies, then tsc to dist/ ---
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=host-ca,required=false \
    if [ -s /run/secrets/host-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/host-ca; fi \
    && npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The Docker credential helper is optional: copy it when the repository ships it.
COPY scripts ./scripts
RUN mkdir -p /out/scripts \
    && if [ -f scripts/docker-credential-pullsecret-sync ]; then \
         install -m 0755 scripts/docker-credential-pullsecret-sync /out/scripts/; \
       fi

# --- deps: production dependencies only, no install scripts ---
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=host-ca,required=false \
    if [ -s /run/secrets/host-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/host-ca; fi \
    && npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: distroless Node 24, user nonroot (65532) ---
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./dist
COPY --from=build /out/scripts ./scripts
USER 65532:65532
# metrics, health (/healthz, /readyz), builder API
EXPOSE 8080 8081 8443
# V8 tuned for a long-running daemon that should stay small: --optimize-for-size grows the heap less
# eagerly and collects sooner, a 2 MB semi-space keeps the young generation small. At 10,000 namespaces,
# 50,000 pods and 10,000 Secrets the peak RSS is 139-144 MB with them and 290-333 MB without
# (BENCHMARKS.md, "Memory").
ENTRYPOINT ["/nodejs/bin/node", "--optimize-for-size", "--max-semi-space-size=2", "/app/dist/main.js"]
CMD ["run"]
