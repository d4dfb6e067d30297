# helpdeskd in a container: a static binary on an empty base image.
#   docker build -t helpdeskd .
#   docker run -d -p 127.0.0.1:8080:8080 -v helpdeskd-data:/data helpdeskd
# docs/operations.md: configuration, secrets, backups.

# The build is the documented release build: no cgo (the SQLite driver is pure Go), so the
# binary needs no C library and runs on scratch.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context, so the commit comes in as an argument:
#   docker build --build-arg VERSION="$(git describe --always --dirty)" -t helpdeskd .
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -X main.version=${VERSION}" -o /out/helpdeskd ./cmd/helpdeskd
# scratch has no mkdir: the volume's mount point is made here, owned by the daemon's user.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

FROM scratch
# TLS to the IMAP and SMTP servers and to the Telegram API needs the CA certificates.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/helpdeskd /usr/local/bin/helpdeskd
COPY --from=build --chown=65532:65532 /out/data /data
COPY deploy/docker.toml /etc/helpdeskd/helpdeskd.toml
# No user database in scratch: a numeric user, not root.
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
# No shell or curl here: the daemon's binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
	CMD ["/usr/local/bin/helpdeskd", "health", "-config", "/etc/helpdeskd/helpdeskd.toml"]
ENTRYPOINT ["/usr/local/bin/helpdeskd"]
CMD ["serve", "-config", "/etc/helpdeskd/helpdeskd.toml"]
