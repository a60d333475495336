# aegis-hub in a container.
#
#   docker build -t aegis-hub .
#   # JWT auth (HS256): the secret is a file, never an argument
#   docker run -p 4444:4444 -v aegis-data:/data \
#     -v "$PWD/jwt-secret:/run/secrets/jwt:ro" -e AEGIS_HUB_AUTH_JWT_SECRET_FILE=/run/secrets/jwt aegis-hub
#   # or a JWKS: -e AEGIS_HUB_AUTH_JWKS_URL=https://auth.example/.well-known/jwks.json
#   # or, on purpose, no auth at all: docker run … aegis-hub aegis-hub --host 0.0.0.0 --data /data --allow-anonymous
#
# The hub listens on 0.0.0.0 inside the container, so without auth or
# --allow-anonymous (AEGIS_HUB_ALLOW_ANONYMOUS=1) it refuses to start.
# Every flag has an AEGIS_HUB_* variable: see `docker run --rm aegis-hub aegis-hub --help`.

# ---- build: all dependencies, then dist/ -------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json rollup.config.mjs ./
COPY src ./src
COPY adapters ./adapters
RUN npm run build

# ---- runtime: production dependencies, dist/ and bin/ ------------------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN chmod 0755 bin/aegis-hub.mjs \
 && ln -s /app/bin/aegis-hub.mjs /usr/local/bin/aegis-hub \
 && mkdir -p /data && chown node:node /data
# the image's unprivileged user (uid 1000)
USER node
VOLUME /data
EXPOSE 4444
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.AEGIS_HUB_PORT || 4444) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["aegis-hub", "--host", "0.0.0.0", "--data", "/data"]
