# The `twin` binary with the shipped scenarios, data and sample population, for batch jobs
# (docs/kubernetes/). The GPU path needs a Vulkan driver: Mesa's (lavapipe, on the CPU) is
# installed; on NVIDIA nodes the container toolkit mounts the driver's own with
# NVIDIA_DRIVER_CAPABILITIES including `graphics`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin twin

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/twin /usr/local/bin/twin
COPY --from=build /src/scenarios /opt/policy-twin/scenarios
COPY --from=build /src/data /opt/policy-twin/data
WORKDIR /opt/policy-twin
ENTRYPOINT ["twin"]
