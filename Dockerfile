# DataPilot's Node services: one image for the gateway and the four subgraphs, each compiled to JavaScript
# (`npm run build` → dist/<service>/main.js); the compose `command` picks the service, e.g.
# `node --enable-source-maps dist/lake/main.js`.
#   docker build -t datapilot-services:0.1.0 .
# Used by compose/docker-compose.base.yml (and, with tsx over mounted sources, compose/docker-compose.dev.yml: the
# `dev` target keeps the dev dependencies). Build context: the repository root (.dockerignore trims it).

# 1. Dependencies, from the lock only (these layers are rebuilt only when a package.json or the lock changes).
# Node 20.20.2: the version the project is developed and tested on.
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/common/package.json packages/common/
COPY packages/lake/package.json packages/lake/
COPY subgraphs/auth/package.json subgraphs/auth/
COPY subgraphs/chat/package.json subgraphs/chat/
COPY subgraphs/lake/package.json subgraphs/lake/
COPY subgraphs/graph/package.json subgraphs/graph/
COPY gateway/package.json gateway/
COPY sdk/package.json sdk/
COPY examples/cli/package.json examples/cli/
# All dependencies (esbuild and tsx build the services; the dev target runs them with tsx).
RUN npm ci --no-audit --no-fund
# The runtime's: without dev dependencies (the bundles import only packages of `dependencies`).
FROM deps AS prod-deps
RUN npm ci --no-audit --no-fund --omit=dev

# 2. The sources: the services' TypeScript, their schemas and migrations, the composed supergraph the gateway runs
#    from (`npm run compose`; GATEWAY_SUPERGRAPH_PATH) and the SDK's persisted-documents manifest (the gateway's
#    trusted documents in production, GATEWAY_TRUSTED_DOCUMENTS). The bundles read these files at their repository
#    paths (scripts/lib/build.ts), so the runtime keeps the same tree.
FROM deps AS dev
COPY tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY supergraph.graphql ./
COPY sdk/persisted-documents.json ./sdk/
COPY infra/net.ts ./infra/
COPY scripts/build.ts ./scripts/
COPY scripts/lib/build.ts scripts/lib/processes.ts ./scripts/lib/
USER node
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]

# 3. The build: dist/<service>/main.js (+ source maps) for the five services.
FROM dev AS build
USER root
RUN npm run build

# 4. The runtime: production dependencies, the sources' tree (schemas, migrations, …) and dist/, as user `node`.
FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=prod-deps /app/packages/common/node_modules ./packages/common/node_modules
COPY package.json package-lock.json ./
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY supergraph.graphql ./
COPY sdk/persisted-documents.json ./sdk/
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000 4001 4002 4003 4004
CMD ["node", "--enable-source-maps", "dist/gateway/main.js"]
