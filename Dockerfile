# Backend + built dashboard + rebased OHIF, for docker-compose.yml (Node 24, Debian 12).
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY backend/package.json backend/
COPY frontend/package.json frontend/
COPY infra/package.json infra/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && node --import tsx infra/src/cli.ts prepare-ohif /app/ohif \
 && rm -rf runtime
ENV NODE_ENV=production
EXPOSE 8081
# --max-semi-space-size, --heap-growing-percent: as infra/src/services/backend.ts says (BACKEND_NODE_FLAGS).
CMD ["sh", "-c", "set -a && . /config/backend.env && exec node --max-semi-space-size=4 --heap-growing-percent=50 --import tsx backend/src/server.ts"]
