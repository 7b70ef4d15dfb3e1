//! Custom executors on the Docker backend against the real engine: an executor in a container
//! of its own (`ExecutorInfo.container` DOCKER) and a fetched command executor running inside
//! the agent's container, both mmrun's example executor (a real v1 executor). Skips visibly
//! without a daemon, unless MMRUN_REQUIRE_DOCKER=1 (CI).

use crate::common;

use common::docker::Cleanup;
use mmrun::cluster::docker::DockerBackend;
use mmrun::cluster::docker::specs::NodeImages;
use mmrun::cluster::{AgentSpec, Backend, ClusterHandle, ClusterSpec};
use mmrun::docker::{ContainerSummary, Docker, NodeImage, Selector};
use mmrun::framework::{ExecutorRequest, Framework, FrameworkOptions, TaskRequest};
use mmrun::mesos::task::{CommandUri, TaskState};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);

/// A one-agent Docker cluster on mmrun's node image for the test binary, its master's URL,
/// the node image's tag, and a guard that removes whatever carries the cluster's run label.
async fn one_agent_cluster(
    test: &str,
) -> Option<(Box<dyn ClusterHandle>, String, String, Cleanup, Docker)> {
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
    let tag = image.tag().to_string();
    let backend = DockerBackend::new(docker.clone(), NodeImages::Mmrun { image: tag.clone() });
    let mut cluster = backend
        .create(ClusterSpec {
            scenario: test.to_string(),
            ..ClusterSpec::default()
        })
        .await
        .unwrap();
    let (url, _) = cluster
        .start_cluster(vec![AgentSpec::default()])
        .await
        .unwrap();
    let mut cleanup = Cleanup::new(&docker);
    let found = docker
        .list_containers(&Selector::managed().with("io.mmrun.scenario", test))
        .await
        .unwrap();
    cleanup.run = found[0].labels["io.mmrun.run"].clone();
    Some((cluster, url, tag, cleanup, docker))
}

fn task(name: &str, cmd: &str, executor: &ExecutorRequest) -> TaskRequest {
    TaskRequest {
        executor: Some(executor.clone()),
        ..TaskRequest::command(name, cmd)
    }
}

async fn finished(fw: &Framework, name: &str) -> mmrun::framework::TaskRecord {
    fw.await_task(name, TaskState::Finished, WAIT, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until the run's executor containers are gone after `what`.
async fn no_executor_container_left(docker: &Docker, run: &str, what: &str) {
    let awaited = format!("no executor container left after {what}");
    common::wait_for(&awaited, Duration::from_secs(30), || async {
        let left = mesos_containers(docker, run).await;
        match left.is_empty() {
            true => Ok(()),
            false => Err(format!("{left:?}")),
        }
    })
    .await
}

/// The run's containers named as Mesos names containers (`mesos-…`): executor containers.
async fn mesos_containers(docker: &Docker, run: &str) -> Vec<ContainerSummary> {
    let all = docker.list_containers(&Selector::run(run)).await.unwrap();
    all.into_iter()
        .filter(|c| c.name.starts_with("mesos-"))
        .collect()
}

/// The agent's URL: its port published on 127.0.0.1, or its own address on the cluster
/// network where nothing is published (the network is this host's own).
async fn agent_url(docker: &Docker, run: &str) -> String {
    let agents = docker
        .list_containers(&Selector::run(run).with("io.mmrun.role", "agent"))
        .await
        .unwrap();
    let details = docker.inspect(&agents[0].name).await.unwrap().unwrap();
    match details.host_port(5051) {
        Some(port) => format!("http://127.0.0.1:{port}"),
        None => format!("http://{}:5051", details.addresses.values().next().unwrap()),
    }
}

/// The anonymous volumes of the run's agents (their work dirs, which executor containers mount).
async fn agent_volumes(docker: &Docker, run: &str) -> Vec<String> {
    let agents = docker
        .list_containers(&Selector::run(run).with("io.mmrun.role", "agent"))
        .await
        .unwrap();
    let mut volumes = vec![];
    for agent in agents {
        let details = docker.inspect(&agent.name).await.unwrap().unwrap();
        volumes.extend(
            details
                .mounts
                .into_iter()
                .filter(|m| m.destination == "/var/lib/mesos/agent")
                .map(|m| m.source),
        );
    }
    volumes
}

/// Nothing of the run is left: no container, and none of the agents' volumes.
async fn assert_nothing_left(docker: &Docker, run: &str, volumes: &[String]) {
    let left = docker.list_containers(&Selector::run(run)).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    for volume in volumes {
        assert!(
            !docker.volume_exists(volume).await.unwrap(),
            "the agent's work-dir volume {volume} outlived the cluster"
        );
    }
}

/// The example executor's answer to `ping`, from `executor`.
async fn round_trip(fw: &Framework, executor: &str) {
    fw.message(executor, "ping").unwrap();
    let messages = fw
        .await_messages(1, WAIT, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].executor_id.value, executor);
    assert_eq!(messages[0].data, "echo:ping");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_container_subscribes_runs_two_tasks_and_goes_with_its_framework() {
    let test = "executor-container";
    let Some((cluster, url, image, cleanup, docker)) = one_agent_cluster(test).await else {
        return;
    };
    let fw = Framework::subscribe(&url, FrameworkOptions::named(test))
        .await
        .unwrap();
    let executor = ExecutorRequest {
        id: "boxed".into(),
        cmd: format!(
            "{} example-executor",
            mmrun::docker::node_image::BINARY_PATH
        ),
        uris: vec![],
        docker: Some(image),
    };
    // Each task records where it ran: its container's hostname (the container id Docker gives
    // it), address and sandbox.
    let report = "echo \"$(hostname) $LIBPROCESS_IP $MESOS_SANDBOX $MESOS_AGENT_ENDPOINT\"";
    fw.launch(vec![
        task("first", report, &executor),
        task("second", report, &executor),
    ])
    .unwrap();
    let first = finished(&fw, "first").await;
    finished(&fw, "second").await;
    assert_eq!(first.history(), [TaskState::Running, TaskState::Finished]);

    // One executor container, named as Mesos names it, on the cluster network with an address
    // of its own.
    let containers = mesos_containers(&docker, &cleanup.run).await;
    assert_eq!(containers.len(), 1, "{containers:?}");
    let name = &containers[0].name;
    let agent_id = first.agent_id.clone().unwrap().value;
    assert!(name.starts_with(&format!("mesos-{agent_id}.")), "{name}");
    assert_eq!(containers[0].labels["io.mmrun.role"], "task");
    let details = docker.inspect(name).await.unwrap().unwrap();
    let (network, own_ip) = details.addresses.iter().next().unwrap();
    assert!(
        network.starts_with(&format!("mmrun-{}-", cleanup.run)),
        "{network}"
    );
    round_trip(&fw, "boxed").await;

    // The tasks saw that address as LIBPROCESS_IP, and the agent (at another address) as
    // MESOS_AGENT_ENDPOINT; their output is in the shared sandbox, which the agent serves.
    let state: serde_json::Value = reqwest::get(format!("{url}/master/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent_endpoint = state["slaves"][0]["pid"]
        .as_str()
        .unwrap()
        .trim_start_matches("slave(1)@")
        .to_string();
    assert_ne!(agent_endpoint, format!("{own_ip}:5051"));
    let agent_port = agent_url(&docker, &cleanup.run).await;
    let executor_state: serde_json::Value = reqwest::get(format!("{agent_port}/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let directory = executor_state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .unwrap()
        .to_string();
    let stdout: serde_json::Value = reqwest::get(format!(
        "{agent_port}/files/read?path={directory}/stdout&offset=0"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let hostname = &details.id[..12];
    let line = format!("{hostname} {own_ip} {directory} {agent_endpoint}");
    let output = stdout["data"].as_str().unwrap();
    assert_eq!(
        output.lines().filter(|l| *l == line).count(),
        2,
        "expected `{line}` twice in the executor's stdout:\n{output}"
    );

    // Teardown: SHUTDOWN, the executor exits, its container is removed.
    fw.teardown().unwrap();
    no_executor_container_left(&docker, &cleanup.run, "its framework's teardown").await;
    let volumes = agent_volumes(&docker, &cleanup.run).await;
    assert_eq!(volumes.len(), 1);
    cluster.teardown().await;
    assert_nothing_left(&docker, &cleanup.run, &volumes).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetched_command_executor_runs_inside_the_agents_container() {
    let test = "fetched-executor";
    let Some((cluster, url, _, cleanup, docker)) = one_agent_cluster(test).await else {
        return;
    };
    let fw = Framework::subscribe(&url, FrameworkOptions::named(test))
        .await
        .unwrap();
    // The agent fetches the executor (a copy of the mmrun binary its image carries) into the
    // sandbox; the executor runs from there, inside the agent's container.
    let executor = ExecutorRequest {
        id: "fetched".into(),
        cmd: "./my-executor example-executor".into(),
        uris: vec![CommandUri {
            value: format!("file://{}", mmrun::docker::node_image::BINARY_PATH),
            executable: true,
            extract: false,
            cache: false,
            output_file: Some("my-executor".into()),
        }],
        docker: None,
    };
    fw.launch(vec![task(
        "task",
        "test -x \"$MESOS_SANDBOX/my-executor\" && case \"$(hostname)\" in *-agent-1) ;; *) exit 7 ;; esac",
        &executor,
    )])
    .unwrap();
    let done = finished(&fw, "task").await;
    assert_eq!(done.history(), [TaskState::Running, TaskState::Finished]);
    round_trip(&fw, "fetched").await;
    // No container of its own.
    assert!(mesos_containers(&docker, &cleanup.run).await.is_empty());
    fw.teardown().unwrap();
    cluster.teardown().await;
    let left = docker.list_containers(&Selector::run(&cleanup.run)).await;
    assert_eq!(left.unwrap().len(), 0);
}

/// A container agent killed (`docker kill`: no cleanup of its own runs) leaves its executor
/// container behind; restarted with its id, it removes it, as Mesos's `--docker_kill_orphans`.
#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_agent_removes_the_executor_container_of_its_previous_life() {
    let test = "executor-orphan";
    let Some((mut cluster, url, image, cleanup, docker)) = one_agent_cluster(test).await else {
        return;
    };
    let fw = Framework::subscribe(&url, FrameworkOptions::named(test))
        .await
        .unwrap();
    let executor = ExecutorRequest {
        id: "boxed".into(),
        cmd: format!(
            "{} example-executor",
            mmrun::docker::node_image::BINARY_PATH
        ),
        uris: vec![],
        docker: Some(image),
    };
    fw.launch(vec![task("long", "sleep 600", &executor)])
        .unwrap();
    fw.await_task("long", TaskState::Running, WAIT, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = mesos_containers(&docker, &cleanup.run).await;
    assert_eq!(before.len(), 1, "{before:?}");

    cluster.stop_agent(0, false).await.unwrap();
    let left = mesos_containers(&docker, &cleanup.run).await;
    assert_eq!(left.len(), 1, "a killed agent cleans nothing up: {left:?}");
    cluster.start_agent(0).await.unwrap();
    no_executor_container_left(&docker, &cleanup.run, "the agent's restart").await;

    // Torn down while an executor container runs: the agent goes first, its work-dir volume
    // (still mounted by the executor container) goes with the executor container.
    let again = ExecutorRequest {
        id: "again".into(),
        ..executor
    };
    fw.launch(vec![task("again", "sleep 600", &again)]).unwrap();
    fw.await_task("again", TaskState::Running, WAIT, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mesos_containers(&docker, &cleanup.run).await.len(), 1);
    let volumes = agent_volumes(&docker, &cleanup.run).await;
    assert_eq!(volumes.len(), 1);
    fw.disconnect();
    cluster.teardown().await;
    assert_nothing_left(&docker, &cleanup.run, &volumes).await;
}

/// `mmrun down`, `mmrun clean` and the reaper remove a run's containers all at once, an agent
/// and its executor containers together: the agent's work-dir volume still goes.
#[tokio::test(flavor = "multi_thread")]
async fn removing_a_whole_run_at_once_leaves_no_agent_volume() {
    let test = "executor-run-removed";
    let Some((cluster, url, image, cleanup, docker)) = one_agent_cluster(test).await else {
        return;
    };
    let fw = Framework::subscribe(&url, FrameworkOptions::named(test))
        .await
        .unwrap();
    let executor = ExecutorRequest {
        id: "boxed".into(),
        cmd: format!(
            "{} example-executor",
            mmrun::docker::node_image::BINARY_PATH
        ),
        uris: vec![],
        docker: Some(image),
    };
    fw.launch(vec![task("long", "sleep 600", &executor)])
        .unwrap();
    fw.await_task("long", TaskState::Running, WAIT, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let volumes = agent_volumes(&docker, &cleanup.run).await;
    assert_eq!(volumes.len(), 1);
    fw.disconnect();
    mmrun::docker::remove_labelled(&docker, &Selector::run(&cleanup.run))
        .await
        .unwrap();
    assert_nothing_left(&docker, &cleanup.run, &volumes).await;
    cluster.teardown().await;
}
