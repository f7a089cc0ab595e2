# MCP Bridge: Home Assistant add-on image.
#
# The Supervisor (2025.07 or later) builds this with Docker BuildKit from the
# repository root and passes BUILD_ARCH and BUILD_VERSION (and BUILD_FROM while
# build.yaml exists). The default below is the pinned multi-arch Home Assistant
# base image (Alpine, s6-overlay v3, bashio); keep build.yaml's tags equal to it.
ARG BUILD_FROM=ghcr.io/home-assistant/base:3.24-2026.08.0

# Build the static binary on the build machine's own platform and
# cross-compile for the target: no emulation, and the same image on every arch.
FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build

WORKDIR /src

# Modules first, so this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY src ./src
COPY mcp_bridge_addon ./mcp_bridge_addon

ARG TARGETARCH
ARG BUILD_VERSION
# main.version is only overridden when the Supervisor passed BUILD_VERSION;
# a plain "docker build" keeps the version compiled into version.go.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux GOARCH=$TARGETARCH \
    go build -trimpath \
        -ldflags "-s -w${BUILD_VERSION:+ -X main.version=${BUILD_VERSION}}" \
        -o /out/mcp_bridge_addon ./mcp_bridge_addon

# hadolint ignore=DL3006
FROM ${BUILD_FROM}

# s6-overlay service definitions (rootfs/etc/s6-overlay/s6-rc.d/mcp-bridge).
COPY rootfs /
COPY --from=build /out/mcp_bridge_addon /usr/bin/mcp_bridge_addon

# The API for the LAN (3003) and the Ingress status page (8099).
EXPOSE 3003 8099

# Native Docker health check (the add-on linter rejects the old "watchdog").
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/bin/mcp_bridge_addon", "healthcheck"]

ARG BUILD_ARCH
ARG BUILD_DATE
ARG BUILD_REF
ARG BUILD_REPOSITORY=mcp-bridge/mcp-bridge
ARG BUILD_VERSION

LABEL \
    io.hass.name="MCP Bridge" \
    io.hass.description="Let LLM tools see and control Home Assistant through MCP" \
    io.hass.arch="${BUILD_ARCH}" \
    io.hass.type="addon" \
    io.hass.version="${BUILD_VERSION}" \
    org.opencontainers.image.title="MCP Bridge" \
    org.opencontainers.image.description="Let LLM tools see and control Home Assistant through MCP" \
    org.opencontainers.image.source="https://github.com/${BUILD_REPOSITORY}" \
    org.opencontainers.image.documentation="https://github.com/${BUILD_REPOSITORY}/blob/main/DOCS.md" \
    org.opencontainers.image.created="${BUILD_DATE}" \
    org.opencontainers.image.revision="${BUILD_REF}" \
    org.opencontainers.image.version="${BUILD_VERSION}"
