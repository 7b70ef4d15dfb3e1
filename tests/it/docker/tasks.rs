//! The agent's Docker containerizer against the real daemon: DOCKER tasks of an in-process
//! cluster run as sibling containers of mmrun's busybox image, named as Mesos names them, with
//! their output in the sandbox; they finish, fail, are killed, publish ports on BRIDGE; and
//! nothing is left once a task ends, its framework is torn down or its agent stops, crashes or
//! is dropped.
//!
//! Without a daemon the tests print `SKIPPED: …` and pass, unless MMRUN_REQUIRE_DOCKER=1 (set
//! in CI) makes that a failure. Every test labels its task containers with a run of its own and
//! a `Cleanup` guard removes that run (and any throwaway image) on drop, pass or fail.

use crate::common;

use common::docker::{Cleanup, docker_or_skip};
use common::{WaitFor, get_json, wait_for};
use mmrun::docker::labels;
use mmrun::docker::{
    BusyboxImage, ContainerSpec, Docker, NodeImage, Role, Selector, Userland, ensure_busybox_image,
};
use mmrun::framework::{Framework, FrameworkOptions, TaskNetwork, TaskRecord, TaskRequest};
use mmrun::lite::cluster::{AgentOptions, ClusterOptions, Containerizers, LocalCluster};
use mmrun::mesos::task::TaskState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

/// A test's world: a cluster whose agent runs DOCKER tasks labelled with the test's run, a
/// framework on it, and the busybox image.
struct World {
    docker: Docker,
    cleanup: Cleanup,
    cluster: LocalCluster,
    framework: Framework,
    busybox: String,
}

async fn world(test: &str) -> Option<World> {
    world_with(test, AgentOptions::default()).await
}

async fn world_with(test: &str, agent: AgentOptions) -> Option<World> {
    let docker = docker_or_skip(test).await?;
    let cleanup = Cleanup::new(&docker);
    let busybox = ensure_busybox_image(&docker)
        .await
        .expect("the busybox image builds");
    let mut cluster = LocalCluster::start(ClusterOptions::default())
        .await
        .unwrap();
    cluster
        .add_agent_with(
            agent,
            Containerizers::docker(Some(cleanup.owner("docker-tasks"))),
        )
        .await
        .unwrap();
    let framework = Framework::subscribe(&cluster.master_url(), FrameworkOptions::named(test))
        .await
        .unwrap();
    Some(World {
        docker,
        cleanup,
        cluster,
        framework,
        busybox,
    })
}

impl World {
    fn task(&self, name: &str, cmd: &str) -> TaskRequest {
        TaskRequest {
            image: Some(self.busybox.clone()),
            ..TaskRequest::command(name, cmd)
        }
    }

    async fn await_task(&self, name: &str, state: TaskState) -> TaskRecord {
        let cancel = CancellationToken::new();
        self.framework
            .await_task(name, state, WAIT, &cancel)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The names of the test's containers (running or not).
    async fn containers(&self) -> Vec<String> {
        let run = Selector::run(&self.cleanup.run);
        let mut names: Vec<String> = self
            .docker
            .list_containers(&run)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        names
    }

    /// Waits until the test has no container left.
    async fn no_containers_left(&self, after: &str) {
        let what = format!("no container left {after}");
        wait_for(&what, Duration::from_secs(10), || async {
            let left = self.containers().await;
            match left.is_empty() {
                true => Ok(()),
                false => Err(format!("{left:?}")),
            }
        })
        .await
    }

    fn agent_id(&self) -> String {
        self.cluster.agent_id(0).unwrap().value
    }

    /// A file of the task's sandbox, through the agent's `/files/read` as tools read it.
    async fn sandbox_file(&self, task: &TaskRecord, file: &str) -> String {
        let agent = self.cluster.agent_url(0).unwrap();
        let state = get_json(&format!("{agent}/state")).await;
        let directory = state["frameworks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| {
                let running = f["executors"].as_array().unwrap().iter();
                running.chain(f["completed_executors"].as_array().unwrap())
            })
            .find(|e| e["id"] == task.id.value.as_str())
            .and_then(|e| e["directory"].as_str())
            .unwrap_or_else(|| panic!("no executor for {} in {state}", task.id))
            .to_string();
        let read = reqwest::Client::new()
            .get(format!("{agent}/files/read"))
            .query(&[
                ("path", format!("{directory}/{file}")),
                ("offset", "0".into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        let body: serde_json::Value = read.json().await.unwrap();
        body["data"].as_str().unwrap().to_string()
    }

    async fn finish(self) {
        self.framework.disconnect();
        self.cluster.shutdown().await;
    }
}

fn status(task: &TaskRecord, state: TaskState) -> &mmrun::mesos::task::TaskStatus {
    task.statuses
        .iter()
        .find(|s| s.state == state)
        .unwrap_or_else(|| panic!("no {state} in {}", task.describe()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busybox_task_finishes_with_its_environment_and_output_in_the_sandbox() {
    let Some(w) = world("docker task finishes").await else {
        return;
    };
    let mut task = w.task(
        "greet",
        "echo \"greeting=$GREETING sandbox=$MESOS_SANDBOX task=$MESOS_TASK_ID\"; echo \"name=$MESOS_CONTAINER_NAME\"; echo to-stderr >&2; ls -d /mnt/mesos/sandbox",
    );
    task.env.insert("GREETING".into(), "hello".into());
    w.framework.launch(vec![task]).unwrap();
    let done = w.await_task("greet", TaskState::Finished).await;
    assert_eq!(
        done.history(),
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
    assert_eq!(
        status(&done, TaskState::Finished).message.as_deref(),
        Some("Container exited with status 0")
    );
    let container_id = status(&done, TaskState::Running)
        .container_status
        .as_ref()
        .and_then(|c| c.container_id.clone())
        .expect("TASK_RUNNING carries the container id");

    let stdout = w.sandbox_file(&done, "stdout").await;
    let name = format!("mesos-{}.{}", w.agent_id(), container_id.value);
    assert_eq!(
        stdout,
        format!(
            "greeting=hello sandbox=/mnt/mesos/sandbox task={}\nname={name}\n/mnt/mesos/sandbox\n",
            done.id
        )
    );
    assert_eq!(w.sandbox_file(&done, "stderr").await, "to-stderr\n");
    // Removed before TASK_FINISHED went out.
    assert_eq!(w.containers().await, Vec::<String>::new());
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_task_fails_with_its_exit_status() {
    let Some(w) = world("docker task fails").await else {
        return;
    };
    w.framework
        .launch(vec![w.task("fail", "echo broken >&2; exit 3")])
        .unwrap();
    let failed = w.await_task("fail", TaskState::Failed).await;
    assert_eq!(
        failed.history(),
        [TaskState::Starting, TaskState::Running, TaskState::Failed]
    );
    assert_eq!(
        status(&failed, TaskState::Failed).message.as_deref(),
        Some("Container exited with status 3")
    );
    assert_eq!(w.sandbox_file(&failed, "stderr").await, "broken\n");
    assert_eq!(w.containers().await, Vec::<String>::new());
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_a_task_stops_its_container_named_as_mesos_names_it_and_removes_it() {
    let Some(w) = world("docker task killed").await else {
        return;
    };
    w.framework
        .launch(vec![w.task("sleeper", "sleep 600")])
        .unwrap();
    let running = w.await_task("sleeper", TaskState::Running).await;
    let container_id = status(&running, TaskState::Running)
        .container_status
        .as_ref()
        .and_then(|c| c.container_id.clone())
        .unwrap();
    let expected = format!("mesos-{}.{}", w.agent_id(), container_id.value);
    assert_eq!(w.containers().await, std::slice::from_ref(&expected));
    let details = w.docker.inspect(&expected).await.unwrap().unwrap();
    assert!(details.is_running());
    // Labelled as the test run's, so its teardown (and `mmrun clean`) would find it.
    let listed = w
        .docker
        .list_containers(&Selector::run(&w.cleanup.run))
        .await
        .unwrap();
    let labels = &listed[0].labels;
    assert_eq!(labels[labels::ROLE], "task");
    assert_eq!(labels[labels::PID], std::process::id().to_string());
    assert_eq!(labels[labels::SCENARIO], "docker-tasks");

    w.framework.kill("sleeper").unwrap();
    let killed = w.await_task("sleeper", TaskState::Killed).await;
    assert_eq!(
        killed.history(),
        [
            TaskState::Starting,
            TaskState::Running,
            TaskState::Killing,
            TaskState::Killed
        ]
    );
    assert_eq!(w.containers().await, Vec::<String>::new());
    assert!(w.docker.inspect(&expected).await.unwrap().is_none());
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bridge_task_serves_on_the_host_port_it_was_given() {
    // One port the host does not use (31000, the default range's first, may be taken by
    // another test run on the machine).
    let free = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let agent = AgentOptions {
        resources: Some(format!("ports:[{port}-{port}]")),
        ..AgentOptions::default()
    };
    let Some(w) = world_with("docker task bridge", agent).await else {
        return;
    };
    // An HTTP server any host can put in an image: mmrun's own master, in the node image
    // (busybox's httpd is not there when the images are built from the host's tools).
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_mmrun"));
    let node_image = tokio::task::spawn_blocking(move || NodeImage::for_binary(binary))
        .await
        .unwrap()
        .unwrap();
    node_image.ensure(&w.docker).await.unwrap();
    let mut task = w.task(
        "web",
        "exec /usr/local/bin/mmrun node master --ip=0.0.0.0 --port=8080 --hostname=bridge-web",
    );
    task.image = Some(node_image.tag().to_string());
    task.network = TaskNetwork::Bridge;
    task.ports = vec![8080];
    w.framework.launch(vec![task]).unwrap();
    let running = w.await_task("web", TaskState::Running).await;
    let network_infos = &status(&running, TaskState::Running)
        .container_status
        .as_ref()
        .unwrap()
        .network_infos;
    assert!(
        network_infos[0].ip_addresses[0].ip_address.is_some(),
        "the container's bridge address: {network_infos:?}"
    );

    // The host port is the one the framework took from the offer and mapped.
    let agent = w.cluster.agent_url(0).unwrap();
    let state = get_json(&format!("{agent}/state")).await;
    let container = &state["frameworks"][0]["executors"][0]["tasks"][0]["container"];
    let mapping = &container["docker"]["port_mappings"][0];
    assert_eq!(mapping["container_port"], 8080, "{container}");
    let host_port = mapping["host_port"].as_u64().unwrap();
    assert_eq!(host_port, u64::from(port));

    let url = format!("http://127.0.0.1:{host_port}/master/state");
    let served = WaitFor::new(
        format!("the task to serve on {url}"),
        Duration::from_secs(20),
    )
    .every(Duration::from_millis(100))
    .until(|| async {
        match reqwest::get(&url).await {
            Ok(r) if r.status() == 200 => Ok(r.text().await.unwrap()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let body = match served {
        Ok(body) => body,
        Err(e) => {
            let name = w.containers().await.pop().unwrap_or_default();
            let details = w.docker.inspect(&name).await;
            let logs = w.docker.container_logs(&name).await;
            panic!("{e}; {name}: {details:?}, output {logs:?}");
        }
    };
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["hostname"], "bridge-web", "{body}");
    w.framework.kill("web").unwrap();
    w.await_task("web", TaskState::Killed).await;
    w.no_containers_left("after the kill").await;
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_agent_stops_and_removes_its_task_containers() {
    let Some(mut w) = world("docker agent stops").await else {
        return;
    };
    // Exits on SIGTERM (as PID 1 it would otherwise ignore it), so `docker stop` is quick.
    let cmd = "trap 'exit 0' TERM; while true; do sleep 1; done";
    w.framework
        .launch(vec![w.task("one", cmd), w.task("two", cmd)])
        .unwrap();
    w.await_task("one", TaskState::Running).await;
    w.await_task("two", TaskState::Running).await;
    assert_eq!(w.containers().await.len(), 2);
    w.cluster.stop_agent(0, true).await.unwrap();
    assert_eq!(w.containers().await, Vec::<String>::new());
    for name in ["one", "two"] {
        w.await_task(name, TaskState::Killed).await;
    }
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_or_dropped_agent_leaves_no_task_container() {
    let Some(mut w) = world("docker agent crashes").await else {
        return;
    };
    w.framework
        .launch(vec![w.task("crash", "sleep 600")])
        .unwrap();
    w.await_task("crash", TaskState::Running).await;
    w.cluster.stop_agent(0, false).await.unwrap();
    assert_eq!(w.containers().await, Vec::<String>::new());

    // Dropped without a shutdown, as after a panic: the agent's drop removes them.
    w.cluster.start_agent(0).await.unwrap();
    w.framework
        .launch(vec![w.task("dropped", "sleep 600")])
        .unwrap();
    w.await_task("dropped", TaskState::Running).await;
    assert_eq!(w.containers().await.len(), 1);
    let World {
        docker,
        cleanup,
        cluster,
        framework,
        ..
    } = w;
    framework.disconnect();
    drop(cluster);
    let run = Selector::run(&cleanup.run);
    let left = docker.list_containers(&run).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tearing_the_framework_down_removes_its_containers() {
    let Some(w) = world("docker framework teardown").await else {
        return;
    };
    w.framework
        .launch(vec![w.task("lonely", "sleep 600")])
        .unwrap();
    w.await_task("lonely", TaskState::Running).await;
    w.framework.teardown().unwrap();
    w.no_containers_left("after the framework's teardown").await;
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_fails_the_task_saying_how_to_provide_it() {
    let Some(w) = world("docker image missing").await else {
        return;
    };
    let image = format!("mmrun-missing-{}:nope", w.cleanup.run);
    let task = TaskRequest {
        image: Some(image.clone()),
        ..w.task("ghost", "true")
    };
    w.framework.launch(vec![task]).unwrap();
    let failed = w.await_task("ghost", TaskState::Failed).await;
    let last = status(&failed, TaskState::Failed);
    let message = last.message.clone().unwrap();
    assert_eq!(
        last.reason.as_deref(),
        Some("REASON_CONTAINER_LAUNCH_FAILED")
    );
    for needle in [
        format!("image '{image}' does not exist on the Docker daemon"),
        "never pulls".to_string(),
        "docker build".to_string(),
        "docker load".to_string(),
    ] {
        assert!(message.contains(&needle), "{needle:?} in {message}");
    }
    assert_eq!(w.containers().await, Vec::<String>::new());
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_task_image_builds_without_busybox_from_the_hosts_shell_and_tools() {
    let Some(docker) = docker_or_skip("busybox image build").await else {
        return;
    };
    let mut cleanup = Cleanup::new(&docker);
    // A throwaway tag: this test always builds, whatever is cached under mmrun-busybox. Made
    // of the host's own shell and tools, as on a machine without busybox.
    let image = tokio::task::spawn_blocking(|| BusyboxImage::with_userland(&Userland::HostTools))
        .await
        .unwrap()
        .unwrap()
        .with_repository(&format!("mmrun-busybox-test-{}", cleanup.run));
    cleanup.images.push(image.tag().to_string());
    assert!(image.ensure(&docker).await.unwrap(), "a fresh tag is built");
    assert!(!image.ensure(&docker).await.unwrap(), "then found");

    let owner = cleanup.owner("docker-tasks");
    let spec = ContainerSpec {
        name: owner.name(Role::Task, Some(1)),
        image: image.tag().to_string(),
        labels: owner.labels(Role::Task),
        // No command: the image's own, `/bin/sh`, which reads nothing and exits 0.
        ..ContainerSpec::default()
    };
    let id = docker.create_container(&spec).await.unwrap();
    docker.start_container(&id).await.unwrap();
    assert_eq!(docker.wait_container(&id).await.unwrap(), 0);
    let spec = ContainerSpec {
        name: owner.name(Role::Task, Some(2)),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        cmd: vec![
            "test ! -e /bin/busybox && test -k /tmp && echo $(echo a:b | cut -d: -f2) | grep b && ls /usr/bin/env >/dev/null && sleep 0.1 && echo ok"
                .into(),
        ],
        ..spec
    };
    let id = docker.create_container(&spec).await.unwrap();
    docker.start_container(&id).await.unwrap();
    assert_eq!(docker.wait_container(&id).await.unwrap(), 0);
    assert_eq!(docker.container_logs(&id).await.unwrap(), "b\nok\n");
}

/// As in Mesos, a DOCKER task's URIs are fetched into its sandbox before the container starts;
/// the fetcher's log opens `stderr` and the container's own output follows it, whole. (Whether
/// the container sees the files at /mnt/mesos/sandbox depends on the agent sharing its sandboxes
/// with the daemon, which an agent that itself runs in a container does not.)
#[tokio::test(flavor = "multi_thread")]
async fn a_docker_task_gets_its_uris_fetched_into_the_sandbox() {
    let Some(w) = world("docker task fetches").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("note.txt");
    std::fs::write(&note, "fetched note\n").unwrap();
    let uri = format!("file://{}", note.display());
    let task = TaskRequest {
        uris: vec![mmrun::mesos::task::CommandUri::new(&uri)],
        ..w.task("reader", "echo container-stdout; echo container-stderr >&2")
    };
    w.framework.launch(vec![task]).unwrap();
    let done = w.await_task("reader", TaskState::Finished).await;
    assert_eq!(w.sandbox_file(&done, "note.txt").await, "fetched note\n");
    assert_eq!(w.sandbox_file(&done, "stdout").await, "container-stdout\n");
    let stderr = w.sandbox_file(&done, "stderr").await;
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 3 && lines[0].starts_with(&format!("Fetched '{uri}' to '")),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("Successfully fetched all URIs"),
        "{stderr}"
    );
    assert_eq!(lines[2], "container-stderr", "{stderr}");
    w.no_containers_left("after the task ended").await;
    w.finish().await;
}

/// An executor container of an agent on this host (not itself in a container): on the host's
/// network (Mesos's default), so it reaches the agent at its own address, with the sandbox
/// bound at /mnt/mesos/sandbox; a crashed agent and a dropped one leave no executor container.
#[tokio::test(flavor = "multi_thread")]
async fn an_in_process_agents_executor_container_runs_on_the_host_network_and_goes_with_it() {
    let Some(mut w) = world("docker executor on a host agent").await else {
        return;
    };
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_mmrun")).to_path_buf();
    let node = tokio::task::spawn_blocking(move || NodeImage::for_binary(&binary))
        .await
        .unwrap()
        .unwrap();
    node.ensure(&w.docker).await.unwrap();
    let executor = mmrun::framework::ExecutorRequest {
        id: "boxed".into(),
        cmd: format!(
            "{} example-executor",
            mmrun::docker::node_image::BINARY_PATH
        ),
        uris: vec![],
        docker: Some(node.tag().to_string()),
    };
    let template = w.task("template", "true");
    let on_executor = |name: &str, cmd: &str| TaskRequest {
        name: name.into(),
        cmd: cmd.into(),
        image: None,
        executor: Some(executor.clone()),
        ..template.clone()
    };
    // The sandbox is Mesos's in-container path, and the agent's address is the executor's.
    let check = "test \"$MESOS_SANDBOX\" = /mnt/mesos/sandbox && test -f /mnt/mesos/sandbox/stdout \
        && test \"$LIBPROCESS_IP:${MESOS_AGENT_ENDPOINT#*:}\" = \"$MESOS_AGENT_ENDPOINT\"";
    w.framework
        .launch(vec![
            on_executor("checked", check),
            on_executor("crash", "sleep 600"),
        ])
        .unwrap();
    w.await_task("checked", TaskState::Finished).await;
    w.await_task("crash", TaskState::Running).await;
    let containers = w.containers().await;
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert!(containers[0].starts_with("mesos-"), "{containers:?}");
    w.cluster.stop_agent(0, false).await.unwrap();
    assert_eq!(w.containers().await, Vec::<String>::new());

    // Dropped without a shutdown, as after a panic: the agent's drop removes it.
    w.cluster.start_agent(0).await.unwrap();
    w.framework
        .launch(vec![on_executor("dropped", "sleep 600")])
        .unwrap();
    w.await_task("dropped", TaskState::Running).await;
    assert_eq!(w.containers().await.len(), 1);
    let World {
        docker,
        cleanup,
        cluster,
        framework,
        ..
    } = w;
    framework.disconnect();
    drop(cluster);
    let run = Selector::run(&cleanup.run);
    let left = docker.list_containers(&run).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
