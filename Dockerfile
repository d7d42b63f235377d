# The one ecufleet image: controller, agent, ecusim, doip and dev are subcommands of /ecufleet.
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t ecufleet:latest .
# The build stage runs on the builder's own platform and cross-compiles, so
# `docker buildx build --platform linux/amd64,linux/arm64` needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=v0.1.0-dev
# Same command and version ldflags as `make build`; CGO off for a static binary that runs on
# distroless/static, -trimpath so the binary holds no builder paths.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
    -ldflags "-X github.com/ecufleet/ecufleet/internal/version.Version=$VERSION" \
    -o /out/ecufleet ./cmd/ecufleet

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/ecufleet /ecufleet
# Numeric, so the kubelet can check runAsNonRoot without resolving a user name.
USER 65532:65532
ENTRYPOINT ["/ecufleet"]
