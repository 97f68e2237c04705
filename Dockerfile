# syntax=docker/dockerfile:1
# pullsecret-sync container image: TypeScript compiled in a full Node image, production dependencies
# installed in a stage of their own, and only those plus dist/ copied into a distroless, non-root
# Node 24 runtime (no shell, no package manager). Build: docker build -t pullsecret-sync .

# --- build: all dependencies, then tsc to dist/ ---
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
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
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: distroless Node 24, user nonroot (65532) ---
FROM gcr.io/distroless/nodejs24-debian12:nonroot
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
