# A FROM scratch image holding only the static lockpipe binary. The Go image is
# named in full, so that podman needs no unqualified-search registries.
#   docker build -t lockpipe .            (docker buildx build --platform linux/arm64 ... for others)
FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.26 AS build
ARG TARGETOS=linux TARGETARCH=amd64 VERSION
WORKDIR /src
COPY go.mod *.go ./
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags="-s -w -buildid= -X main.version=${VERSION:-devel}" -o /lockpipe .

FROM scratch
COPY --from=build /lockpipe /lockpipe
ENTRYPOINT ["/lockpipe"]
CMD ["read"]
