//! The Docker foundation against the real daemon: the node image builds offline `FROM scratch`
//! and runs mmrun and `sh`; a second ensure is a fast no-op; concurrent ensures build once;
//! names never start with `mesos-`; orphans of dead processes are reaped and the living are
//! kept; an unreachable daemon is one clear line, quickly.
//!
//! Without a daemon the tests that need one print `SKIPPED: …` and pass, unless
//! MMRUN_REQUIRE_DOCKER=1 (set in CI) makes that a failure. Every test removes what it created,
//! even when it fails: a `Cleanup` guard removes the test's run (by label) and images on drop.

use crate::common;

use common::docker::{Cleanup, docker_or_skip};
use mmrun::docker::cleanup::process_is_alive;
use mmrun::docker::{self, ContainerSpec, Docker, NodeImage, Owner, Role, Selector};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MMRUN: &str = env!("CARGO_BIN_EXE_mmrun");

/// The node image for the mmrun binary under test (the test's own executable is the harness).
async fn node_image() -> NodeImage {
    tokio::task::spawn_blocking(|| NodeImage::for_binary(Path::new(MMRUN)))
        .await
        .unwrap()
        .expect("the node image's sources resolve")
}

/// Runs a container to completion; returns its exit code and logs.
async fn run_to_exit(docker: &Docker, spec: &ContainerSpec) -> (i64, String) {
    let id = docker.create_container(spec).await.unwrap();
    docker.start_container(&id).await.unwrap();
    let code = tokio::time::timeout(Duration::from_secs(30), docker.wait_container(&id))
        .await
        .expect("the container exits within 30 s")
        .unwrap();
    (code, docker.container_logs(&id).await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn node_image_builds_offline_from_scratch_and_runs_mmrun_and_sh() {
    let Some(docker) = docker_or_skip("node image build").await else {
        return;
    };
    let mut cleanup = Cleanup::new(&docker);
    // A throwaway tag: this test always builds, whatever is cached under mmrun-node.
    let image = node_image()
        .await
        .with_repository(&format!("mmrun-node-test-{}", cleanup.run));
    cleanup.images.push(image.tag().to_string());
    let started = Instant::now();
    image.build(&docker).await.unwrap();
    eprintln!("built {} in {:?}", image.tag(), started.elapsed());
    assert!(docker.image_exists(image.tag()).await.unwrap());

    let owner = Owner::new(&cleanup.run, "node-image");
    let spec = |index, entrypoint: Option<Vec<&str>>, cmd: Vec<&str>| ContainerSpec {
        name: owner.name(Role::Task, Some(index)),
        image: image.tag().to_string(),
        entrypoint: entrypoint.map(|e| e.into_iter().map(String::from).collect()),
        cmd: cmd.into_iter().map(String::from).collect(),
        labels: owner.labels(Role::Task),
        ..ContainerSpec::default()
    };

    let (code, logs) = run_to_exit(&docker, &spec(1, None, vec!["--version"])).await;
    assert_eq!((code, logs.trim()), (0, "mmrun 0.1.0"), "{logs}");

    let script = "echo hi && test -k /tmp && grep -q ^root: /etc/passwd && echo userland ok";
    let (code, logs) =
        run_to_exit(&docker, &spec(2, Some(vec!["/bin/sh", "-c"]), vec![script])).await;
    assert_eq!((code, logs.as_str()), (0, "hi\nuserland ok\n"), "{logs}");

    let (code, logs) = run_to_exit(
        &docker,
        &spec(3, Some(vec!["/bin/sh", "-c"]), vec!["exit 7"]),
    )
    .await;
    assert_eq!(code, 7, "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ensure_is_a_fast_no_op() {
    let Some(docker) = docker_or_skip("ensure twice").await else {
        return;
    };
    let started = Instant::now();
    let first = node_image().await;
    let built = first.ensure(&docker).await.unwrap();
    eprintln!("first ensure (built: {built}) took {:?}", started.elapsed());

    let started = Instant::now();
    let second = node_image().await;
    let built = second.ensure(&docker).await.unwrap();
    let warm = started.elapsed();
    eprintln!("second ensure took {warm:?}");
    assert!(!built, "the second ensure must find the image");
    assert_eq!(first.tag(), second.tag());
    assert!(second.tag().starts_with("mmrun-node:"), "{}", second.tag());
    // Hashing the (debug, ~200 MB) binary dominates; a rebuild would take several seconds.
    assert!(warm < Duration::from_secs(3), "warm ensure took {warm:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_ensures_build_once() {
    let Some(docker) = docker_or_skip("concurrent ensures").await else {
        return;
    };
    let mut cleanup = Cleanup::new(&docker);
    let image = node_image()
        .await
        .with_repository(&format!("mmrun-node-race-{}", cleanup.run));
    cleanup.images.push(image.tag().to_string());
    let (a, b) = tokio::join!(image.ensure(&docker), image.ensure(&docker));
    let built = [a.unwrap(), b.unwrap()];
    assert_eq!(
        built.iter().filter(|b| **b).count(),
        1,
        "exactly one of two concurrent ensures builds: {built:?}"
    );
    let repository = image.tag().split_once(':').unwrap().0;
    assert_eq!(
        docker.list_image_tags(repository).await.unwrap(),
        [image.tag()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_prebuilds_the_same_images_and_reports_their_tags() {
    let Some(docker) = docker_or_skip("mmrun image build").await else {
        return;
    };
    let expected = node_image().await;
    let output = Command::new(MMRUN)
        .args(["image", "build"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // The node image's tag first, then the busybox image's (Docker tasks use it), then the
    // ZooKeeper image's when this host has ZooKeeper.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tags: Vec<&str> = stdout.lines().collect();
    let busybox = tokio::task::spawn_blocking(docker::BusyboxImage::discover)
        .await
        .unwrap()
        .unwrap();
    let zookeeper = tokio::task::spawn_blocking(docker::ZooKeeperImage::discover)
        .await
        .unwrap();
    let mut wanted = vec![expected.tag(), busybox.tag()];
    match &zookeeper {
        Ok(zookeeper) => wanted.push(zookeeper.tag()),
        Err(e) => assert!(stderr.contains(&e.to_string()), "{stderr}"),
    }
    assert_eq!(tags, wanted);
    for tag in wanted {
        assert!(docker.image_exists(tag).await.unwrap(), "{tag}");
    }
}

/// `MMRUN_BUSYBOX` names the busybox to use; a name that is no file is a clear error, not a
/// silent fallback.
#[tokio::test(flavor = "multi_thread")]
async fn a_busybox_named_but_missing_is_a_clear_error() {
    if docker_or_skip("MMRUN_BUSYBOX").await.is_none() {
        return;
    }
    let output = Command::new(MMRUN)
        .args(["image", "build"])
        .env(docker::BUSYBOX_ENV, "/nonexistent/busybox")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("MMRUN_BUSYBOX=/nonexistent/busybox names no file"),
        "{stderr}"
    );
    assert!(stderr.contains("set it empty"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn names_never_start_with_mesos_even_for_mesos_like_inputs() {
    let Some(docker) = docker_or_skip("names").await else {
        return;
    };
    let cleanup = Cleanup::new(&docker);
    let owner = Owner::new(&cleanup.run, "mesos-agent");
    for role in [
        Role::Master,
        Role::Agent,
        Role::Framework,
        Role::Task,
        Role::Network,
        Role::ZooKeeper,
    ] {
        for name in [
            owner.name(role, None),
            owner.name(role, Some(2)),
            docker::object_name("mesos-", "mesos-master", role, Some(1)),
        ] {
            assert!(
                name.starts_with("mmrun-") && !name.starts_with("mesos-"),
                "{name}"
            );
        }
    }
    // The name Docker records is the one we gave.
    let name = owner.name(Role::Network, None);
    docker
        .create_network(&name, &owner.labels(Role::Network))
        .await
        .unwrap();
    let networks = docker
        .list_networks(&Selector::run(&cleanup.run))
        .await
        .unwrap();
    assert_eq!(
        networks.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        [name.as_str()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reap_orphans_removes_what_dead_processes_left_and_keeps_the_living() {
    let Some(docker) = docker_or_skip("reap orphans").await else {
        return;
    };
    let cleanup = Cleanup::new(&docker);
    let image = node_image().await;
    image.ensure(&docker).await.unwrap();

    let mut child = Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    assert!(!process_is_alive(dead_pid));
    let living = Owner::new(&cleanup.run, "living");
    let dead = Owner {
        pid: dead_pid,
        ..Owner::new(&cleanup.run, "dead")
    };

    for owner in [&living, &dead] {
        let network = owner.name(Role::Network, None);
        docker
            .create_network(&network, &owner.labels(Role::Network))
            .await
            .unwrap();
        // Created, not started: reaping must not depend on the container running.
        let spec = ContainerSpec {
            name: owner.name(Role::Agent, Some(1)),
            image: image.tag().to_string(),
            cmd: vec!["--version".into()],
            labels: owner.labels(Role::Agent),
            network: Some(network),
            ..ContainerSpec::default()
        };
        docker.create_container(&spec).await.unwrap();
    }

    let removed = docker::reap_orphans(&docker).await.unwrap();
    assert!(
        removed
            .containers
            .contains(&dead.name(Role::Agent, Some(1))),
        "{removed:?}"
    );
    assert!(
        removed.networks.contains(&dead.name(Role::Network, None)),
        "{removed:?}"
    );

    let run = Selector::run(&cleanup.run);
    let containers: Vec<_> = docker
        .list_containers(&run)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    let networks: Vec<_> = docker
        .list_networks(&run)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(containers, [living.name(Role::Agent, Some(1))]);
    assert_eq!(networks, [living.name(Role::Network, None)]);
}

#[tokio::test]
async fn an_unreachable_daemon_is_one_clear_line_within_two_seconds() {
    // A daemon that accepts connections but never answers (a hung or overloaded one).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("tcp://{}", silent.local_addr().unwrap());
    for host in ["unix:///nonexistent.sock", "tcp://192.0.2.1:2375", &silent] {
        let started = Instant::now();
        let e = Docker::connect_to(host).await.unwrap_err().to_string();
        let took = started.elapsed();
        assert!(took <= Duration::from_millis(2500), "{host}: {took:?}");
        assert!(
            e.starts_with(&format!("cannot reach the Docker daemon at {host}: ")),
            "{e}"
        );
        assert!(
            e.ends_with("is Docker running? (set DOCKER_HOST to use another daemon)"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        eprintln!("{host} after {took:?}: {e}");
    }
}

#[test]
fn the_cli_says_so_in_one_line_and_exits_3_when_the_daemon_is_unreachable() {
    for args in [&["clean"][..], &["image", "build"]] {
        let started = Instant::now();
        let output = Command::new(MMRUN)
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .output()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(3), "{args:?}");
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("cannot reach the Docker daemon at unix:///nonexistent.sock"),
            "{stderr}"
        );
    }
}
