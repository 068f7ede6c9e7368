# DataPilot's Node services: one image for the gateway and the four subgraphs; the compose `command` picks the
# service, e.g. `node --import tsx subgraphs/lake/src/main.ts` (TypeScript run as is, with tsx, as `npm start` does).
#   docker build -t datapilot-services:0.1.0 .
# Used by compose/docker-compose.base.yml. Build context: the repository root (.dockerignore trims it).

# 1. Dependencies, from the lock only (this layer is rebuilt only when a package.json or the lock changes).
#    Dev dependencies stay: tsx runs the services.
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
RUN npm ci --no-audit --no-fund

# 2. The runtime: the dependencies plus the services' sources (schemas and migrations included), as user `node`.
FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
# The composed supergraph the gateway runs from (`npm run compose`; GATEWAY_SUPERGRAPH_PATH).
COPY supergraph.graphql ./
# The SDK's persisted-documents manifest: the gateway's trusted documents in production (GATEWAY_TRUSTED_DOCUMENTS).
COPY sdk/persisted-documents.json ./sdk/
USER node
EXPOSE 4000 4001 4002 4003 4004
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
