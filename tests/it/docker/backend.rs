//! The Docker backend against the real engine: clusters of node containers, their readiness,
//! faults and cleanup. Skips visibly without a daemon, unless MMRUN_REQUIRE_DOCKER=1 (CI).

use crate::common;

use common::WaitFor;
use mmrun::client::MasterClient;
use mmrun::cluster::docker::DockerBackend;
use mmrun::cluster::docker::privilege::{Privilege, is_privilege_refusal};
use mmrun::cluster::docker::specs::NodeImages;
use mmrun::cluster::{AgentSpec, Backend, ClusterSpec};
use mmrun::docker::labels::new_run_id;
use mmrun::docker::{
    BusyboxImage, ContainerSpec, Docker, NodeImage, Owner, Role, Selector, Userland,
};
use mmrun::framework::{Framework, FrameworkOptions, TaskRequest};
use mmrun::mesos::task::TaskState;
use std::path::Path;
use std::time::{Duration, Instant};

async fn backend(test: &str) -> Option<DockerBackend> {
    if !common::docker::docker_available(test) {
        return None;
    }
    let docker = Docker::connect().await.unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_mmrun")).to_path_buf();
    let image = tokio::task::spawn_blocking(move || NodeImage::for_binary(&binary))
        .await
        .unwrap()
        .unwrap();
    image.ensure(&docker).await.unwrap();
    Some(DockerBackend::new(
        docker,
        NodeImages::Mmrun {
            image: image.tag().to_string(),
        },
    ))
}

fn spec(test: &str) -> ClusterSpec {
    ClusterSpec {
        scenario: test.to_string(),
        ..ClusterSpec::default()
    }
}

/// The names of what the cluster's run label still selects: must be none after teardown.
async fn leftovers(docker: &Docker, run: &str) -> Vec<String> {
    let s = Selector::run(run);
    let containers = docker.list_containers(&s).await.unwrap();
    let networks = docker.list_networks(&s).await.unwrap();
    containers
        .into_iter()
        .map(|c| format!("container {}", c.name))
        .chain(networks.into_iter().map(|n| format!("network {}", n.name)))
        .collect()
}

/// The run id of a started cluster, read back from its master container's labels.
async fn run_of(docker: &Docker, test: &str) -> String {
    let found = docker
        .list_containers(&Selector::managed().with("io.mmrun.scenario", test))
        .await
        .unwrap();
    found[0].labels["io.mmrun.run"].clone()
}

async fn active_agents(url: &str) -> Vec<(String, bool)> {
    let state = MasterClient::new(url).state().await.unwrap();
    state.slaves.into_iter().map(|a| (a.id, a.active)).collect()
}

async fn eventually_active(url: &str, id: &str, active: bool) {
    let what = format!("agent {id} to become active={active}");
    common::wait_for(&what, Duration::from_secs(20), || async {
        let state = MasterClient::new(url).state().await.unwrap();
        state.slaves.iter().any(|a| a.id == id && a.active) == active
    })
    .await
}

#[tokio::test]
async fn a_master_and_agents_start_together_as_labelled_containers_and_leave_nothing() {
    let test = "docker-backend-start";
    let Some(backend) = backend(test).await else {
        return;
    };
    let docker = backend.docker().clone();
    let mut cluster = backend.create(spec(test)).await.unwrap();
    let (url, ids) = cluster
        .start_cluster(vec![AgentSpec::default(), AgentSpec::default()])
        .await
        .unwrap();
    let run = run_of(&docker, test).await;
    let containers = docker.list_containers(&Selector::run(&run)).await.unwrap();
    let mut names: Vec<_> = containers.iter().map(|c| c.name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("mmrun-{run}-{test}-agent-1"),
            format!("mmrun-{run}-{test}-agent-2"),
            format!("mmrun-{run}-{test}-master"),
        ]
    );
    for c in &containers {
        assert_eq!(c.labels["io.mmrun.pid"], std::process::id().to_string());
    }
    let agents = active_agents(&url).await;
    assert_eq!(agents.len(), 2);
    assert!(
        agents
            .iter()
            .all(|(id, active)| *active && ids.contains(id))
    );
    // Every node advertises its own container address, not loopback; this host reaches the
    // master there too, with nothing published (the cluster network is this host's own).
    let state = MasterClient::new(&url).state().await.unwrap();
    assert!(state.pid.starts_with("master@10.213."), "{}", state.pid);
    assert_eq!(url, format!("http://{}", &state.pid["master@".len()..]));
    for c in &containers {
        let details = docker.inspect(&c.id).await.unwrap().unwrap();
        assert_eq!(details.published, Default::default(), "{}", c.name);
    }
    assert!(state.slaves.iter().all(|a| a.pid.contains("@10.213.")));
    cluster.teardown().await;
    assert_eq!(leftovers(&docker, &run).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_node_that_dies_fails_at_once_with_its_last_log_lines() {
    let test = "docker-backend-dies";
    let Some(backend) = backend(test).await else {
        return;
    };
    let docker = backend.docker().clone();
    let mut cluster = backend.create(spec(test)).await.unwrap();
    cluster.start_master().await.unwrap();
    let run = run_of(&docker, test).await;
    let started = Instant::now();
    let bad = AgentSpec {
        resources: Some("cpus:lots".into()),
        ..AgentSpec::default()
    };
    let error = cluster.add_agent(bad).await.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "noticed only after {:?}",
        started.elapsed()
    );
    assert!(error.contains("agent-1"), "{error}");
    assert!(error.contains("exited with status"), "{error}");
    assert!(
        error.contains("--resources"),
        "the log lines are missing: {error}"
    );
    cluster.teardown().await;
    assert_eq!(leftovers(&docker, &run).await, Vec::<String>::new());
}

#[tokio::test]
async fn agents_survive_crashes_pauses_partitions_and_a_master_restart() {
    let test = "docker-backend-faults";
    // Through published ports, as where the cluster network is not this host's own: a port
    // Docker publishes again when the agent is back on the network must be followed.
    let Some(backend) = backend(test).await.map(DockerBackend::publishing_ports) else {
        return;
    };
    let docker = backend.docker().clone();
    let mut cluster = backend.create(spec(test)).await.unwrap();
    let (url, ids) = cluster
        .start_cluster(vec![AgentSpec::default()])
        .await
        .unwrap();
    let run = run_of(&docker, test).await;
    let id = ids[0].clone();

    // A crash, then a start: the agent recovers its id from its work dir.
    cluster.stop_agent(0, false).await.unwrap();
    assert!(!cluster.agent_running(0));
    eventually_active(&url, &id, false).await;
    cluster.start_agent(0).await.unwrap();
    eventually_active(&url, &id, true).await;

    // Frozen: missed pings make it unreachable; thawed, it re-registers as itself.
    cluster.pause_agent(0).await.unwrap();
    eventually_active(&url, &id, false).await;
    cluster.unpause_agent(0).await.unwrap();
    eventually_active(&url, &id, true).await;

    // Partitioned, then healed.
    cluster.disconnect_agent(0).await.unwrap();
    eventually_active(&url, &id, false).await;
    cluster.reconnect_agent(0).await.unwrap();
    eventually_active(&url, &id, true).await;
    // Served again through the port Docker published it on when it came back.
    let agent = docker
        .list_containers(&Selector::run(&run).with("io.mmrun.role", "agent"))
        .await
        .unwrap();
    let details = docker.inspect(&agent[0].id).await.unwrap().unwrap();
    let port = details
        .host_port(5051)
        .expect("the agent's port is published again");
    reqwest::get(format!("http://127.0.0.1:{port}/state"))
        .await
        .and_then(|r| r.error_for_status())
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // A master restart keeps the URL; the agent re-registers with the new master.
    cluster.restart_master().await.unwrap();
    assert_eq!(cluster.master_url().as_deref(), Some(url.as_str()));
    eventually_active(&url, &id, true).await;

    // A graceful stop says goodbye: the master removes the agent.
    cluster.stop_agent(0, true).await.unwrap();
    eventually_active(&url, &id, false).await;
    cluster.teardown().await;
    assert_eq!(leftovers(&docker, &run).await, Vec::<String>::new());
}

#[tokio::test]
async fn failure_artifacts_hold_every_nodes_log() {
    let test = "docker-backend-artifacts";
    let Some(backend) = backend(test).await else {
        return;
    };
    let mut cluster = backend.create(spec(test)).await.unwrap();
    cluster
        .start_cluster(vec![AgentSpec::default()])
        .await
        .unwrap();
    // The master lists the agent as active before the agent has logged that it registered
    // (and Docker has its output): save until the line is there, rather than after a guess.
    let saved_registration = WaitFor::new(
        "the agent's saved log to say it registered",
        Duration::from_secs(30),
    )
    .every(Duration::from_millis(100))
    .until(|| async {
        let dir = tempfile::tempdir().unwrap();
        let saved = cluster.save_artifacts(dir.path()).await;
        let names: Vec<_> = saved
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["master.log", "agent-1.log"]);
        let agent_log = std::fs::read_to_string(&saved[1]).unwrap();
        match agent_log.contains("registered") {
            true => Ok(()),
            false => Err(agent_log),
        }
    })
    .await;
    saved_registration.unwrap_or_else(|e| panic!("{e}"));
    let kept = cluster.how_to_reach().unwrap();
    assert!(kept.contains("mmrun down"), "{kept}");
    cluster.teardown().await;
}

/// A machine with only a Docker daemon: the node image and the task image are made of the
/// host's own shell and tools (no busybox, whether or not this host has one), and a cluster of
/// them runs a command task in an agent container and a Docker task beside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_runs_on_images_built_without_busybox() {
    let test = "docker-backend-no-busybox";
    if !common::docker::docker_available(test) {
        return;
    }
    let docker = Docker::connect().await.unwrap();
    let mut cleanup = common::docker::Cleanup::new(&docker);
    let binary = Path::new(env!("CARGO_BIN_EXE_mmrun")).to_path_buf();
    let (node, task_image) = tokio::task::spawn_blocking(move || {
        (
            NodeImage::for_binary_with(&binary, &Userland::HostTools).unwrap(),
            BusyboxImage::with_userland(&Userland::HostTools).unwrap(),
        )
    })
    .await
    .unwrap();
    let node = node.with_repository(&format!("mmrun-node-test-{}", cleanup.run));
    let task_image = task_image.with_repository(&format!("mmrun-busybox-test-{}", cleanup.run));
    cleanup.images.push(node.tag().to_string());
    cleanup.images.push(task_image.tag().to_string());
    node.build(&docker).await.unwrap();
    task_image.build(&docker).await.unwrap();

    let backend = DockerBackend::new(
        docker.clone(),
        NodeImages::Mmrun {
            image: node.tag().to_string(),
        },
    );
    let mut cluster = backend.create(spec(test)).await.unwrap();
    let (url, _) = cluster
        .start_cluster(vec![AgentSpec::default()])
        .await
        .unwrap();
    let run = run_of(&docker, test).await;
    let framework = Framework::subscribe(&url, FrameworkOptions::named(test))
        .await
        .unwrap();
    let task = |name: &str, cmd: &str, image: Option<&str>| TaskRequest {
        image: image.map(String::from),
        ..TaskRequest::command(name, cmd)
    };
    let script =
        "test ! -e /bin/busybox && sleep 0.1 && grep -q ^root: /etc/passwd && ls / | wc -l";
    framework
        .launch(vec![
            task("command", script, None),
            task("docker", script, Some(task_image.tag())),
        ])
        .unwrap();
    let never = tokio_util::sync::CancellationToken::new();
    for name in ["command", "docker"] {
        let finished = framework
            .await_task(name, TaskState::Finished, Duration::from_secs(60), &never)
            .await;
        assert!(finished.is_ok(), "{name}: {finished:?}");
    }
    framework.disconnect();
    cluster.teardown().await;
    assert_eq!(leftovers(&docker, &run).await, Vec::<String>::new());
}

/// Agents told to start `--privileged` come up on any engine: where the engine refuses, they
/// are re-created with the engine's capabilities. mmrun foresees that refusal where it can see
/// the daemon, so without `starting_privileged` this path is not taken on such engines (CI's
/// among them).
#[tokio::test]
async fn agents_started_privileged_come_up_whether_or_not_the_engine_grants_it() {
    let test = "docker-backend-privileged";
    let Some(backend) = backend(test).await else {
        return;
    };
    let backend = backend.starting_privileged();
    let docker = backend.docker().clone();
    let mut cluster = backend.create(spec(test)).await.unwrap();
    let (url, ids) = cluster
        .start_cluster(vec![AgentSpec::default(), AgentSpec::default()])
        .await
        .unwrap();
    let run = run_of(&docker, test).await;
    let agents = active_agents(&url).await;
    assert_eq!(agents.len(), 2);
    assert!(
        agents
            .iter()
            .all(|(id, active)| *active && ids.contains(id)),
        "{agents:?}"
    );
    cluster.teardown().await;
    assert_eq!(leftovers(&docker, &run).await, Vec::<String>::new());
}

/// When mmrun foresees that the engine cannot grant `--privileged`, the engine does refuse it.
#[tokio::test]
async fn a_foreseen_privileged_refusal_is_the_engines_own() {
    let test = "docker-backend-foreseen";
    let Some(backend) = backend(test).await else {
        return;
    };
    let docker = backend.docker().clone();
    if Privilege::expected_for(docker.host().strip_prefix("unix://")) == Privilege::Privileged {
        println!("this engine's refusal is not foreseen here (it may grant --privileged)");
        return;
    }
    let image = mmrun::docker::ensure_busybox_image(&docker).await.unwrap();
    let owner = Owner::new(&new_run_id(), test);
    let spec = ContainerSpec {
        name: owner.name(Role::Agent, None),
        image,
        entrypoint: Some(vec!["/bin/sh".into()]),
        cmd: vec!["-c".into(), "true".into()],
        labels: owner.labels(Role::Agent),
        network: Some("none".into()),
        privileged: true,
        ..ContainerSpec::default()
    };
    let id = docker.create_container(&spec).await.unwrap();
    let started = docker.start_container(&id).await;
    mmrun::docker::remove_labelled(&docker, &Selector::run(&owner.run))
        .await
        .unwrap();
    let refused = started.expect_err("the engine granted --privileged after all");
    assert!(is_privilege_refusal(&refused.to_string()), "{refused}");
    assert_eq!(leftovers(&docker, &owner.run).await, Vec::<String>::new());
}
