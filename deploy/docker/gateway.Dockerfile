# Gateway image. Not built on the development machines (no Docker engine there); kept buildable.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /opt/tollgate
COPY --from=build /src /opt/tollgate
ENV TOLLGATE_HOST=0.0.0.0 TOLLGATE_DATA_DIR=/var/lib/tollgate
VOLUME /var/lib/tollgate
EXPOSE 8009 8010
USER node
ENTRYPOINT ["node", "apps/cli/bin/tollgate.js", "gateway"]
