# syntax=docker/dockerfile:1
#
# Worker image: a static Go binary on distroless (no shell, no package
# manager), running as the unprivileged "nonroot" user (65532).
#
#   docker build --platform linux/arm64 -f deployments/docker/worker.Dockerfile -t genesys-ingest-worker:dev .
#
# The builder runs on the build machine's platform and cross-compiles for the
# target (TARGETARCH), so an arm64 image builds on amd64 without emulation.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=arm64
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w -buildid=' -o /out/worker ./worker

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /worker
USER nonroot:nonroot
ENTRYPOINT ["/worker"]
