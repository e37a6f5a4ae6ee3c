# syntax=docker/dockerfile:1
# Gatehouse container image.
#   docker build -t gatehouse .
#   docker run -p 3000:3000 -e ISSUER=https://id.example.com -e TRUST_PROXY=true \
#     -e COOKIE_KEYS=... -e KEY_ENCRYPTION_KEYS=... -e PAIRWISE_SALT=... -v gatehouse-data:/var/lib/gatehouse gatehouse
# Node 26 is the Active LTS line (since 2026-10-28; 24 is in maintenance). better-sqlite3 12.11 lists 26.x
# in its engines. Override with --build-arg NODE_IMAGE=node:24-bookworm-slim if needed.
ARG NODE_IMAGE=node:26-bookworm-slim

# ---- build: compile TypeScript and build the native modules (better-sqlite3, bcrypt) ----
FROM ${NODE_IMAGE} AS build
# python3/make/g++: node-gyp fallback when no prebuilt binary matches this Node ABI
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The sources come first: `npm ci` builds the project (package.json "prepare": src/dev/build.mjs), as it does
# for CI and a fresh clone. The npm cache mount keeps the reinstall after a source change quick.
# tsconfig also includes test/ and bench/; .dockerignore keeps them out, so only src/ and adapters/ compile.
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY adapters ./adapters
# npm 11 runs only the install scripts that package.json "allowScripts" approves (better-sqlite3, bcrypt,
# esbuild); older npm runs them all. Either way the next line fails the build if a native module is missing.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
RUN node -e "new (require('better-sqlite3'))(':memory:').close(); require('bcrypt').hashSync('x', 4)"
# compiles only if prepare did not (dist/.build-stamp older than the sources); fails the build on a type error
RUN node src/dev/build.mjs --if-stale \
 && test -f dist/src/main.js \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); require('bcrypt').hashSync('x', 4)"

# ---- runtime: production dependencies, compiled code, views; nothing else ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:/var/lib/gatehouse/gatehouse.db
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gatehouse --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /var/lib/gatehouse \
 && chown 10001:10001 /var/lib/gatehouse
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/adapters ./dist/adapters
COPY views ./views
# the SAML schema validator reads these at run time from the source tree (tsc does not copy .xsd files)
COPY src/federation/saml/xsd ./src/federation/saml/xsd
USER 10001:10001
VOLUME ["/var/lib/gatehouse"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
