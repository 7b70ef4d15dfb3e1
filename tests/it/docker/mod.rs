//! Against the real Docker daemon: the Docker module, clusters of containers, the Docker
//! containerizer and executor containers. Without a daemon they print `SKIPPED: …` and pass,
//! unless MMRUN_REQUIRE_DOCKER=1 (CI) makes that a failure.

mod backend;
mod drivers;
mod executors;
mod foundation;
mod report;
mod tasks;
