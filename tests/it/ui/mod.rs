//! The master's web UI in a real headless Chromium (`common::chromium`): what it shows of an
//! embedded cluster (a running task, its sandbox's stdout, a kill), an HA cluster's leader
//! change, a Docker cluster's agents, and its first paint on 100 agents. Screenshots go to
//! target/mmrun-artifacts/ui-screenshots/ (copies of some are docs/images/ui-*.png).
//!
//! Without chromium these print `SKIPPED: …` and pass, unless MMRUN_REQUIRE_CHROMIUM=1 (CI).
//! The endpoints the page reads (`/master/roles`, CORS) are tested without a browser too.

mod report;

use crate::common;

use common::chromium::{Chromium, artifact_path};
use common::{await_state, framework_info, launch_running, subscribe_framework};
use mmrun::lite::cluster::AgentOptions;
use mmrun::mesos::scheduler::{Call, CallType, Kill};
use mmrun::mesos::task::TaskState;
use serde_json::Value;
use std::time::{Duration, Instant};

const SHOWN_WITHIN: Duration = Duration::from_secs(15);

/// The `pid` a master's `/master/state` names (`master@ip:port`).
async fn pid_of(master: &str) -> String {
    get_json(&format!("{master}/master/state")).await["pid"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ui_shows_a_running_task_its_stdout_and_its_kill() {
    let Some(mut browser) = Chromium::launch_or_skip("UI on an embedded cluster").await else {
        return;
    };
    let c = common::cluster_with(
        Default::default(),
        &[AgentOptions {
            attributes: Some("rack:a".into()),
            ..AgentOptions::default()
        }],
    )
    .await;
    let master = c.master_url();
    let mut sub = subscribe_framework(&master, framework_info("ui-demo", &[])).await;
    launch_running(
        &mut sub,
        "greeter",
        "echo hello from the sandbox; sleep 600",
    )
    .await;
    let fid = sub.framework_id.value.clone();
    let agent_id = c.agent_id(0).unwrap().value;

    browser.open(&format!("{master}/")).await;
    browser
        .wait_for_text("#agents-count", "1", SHOWN_WITHIN)
        .await;
    browser
        .wait_for_text("#TASK_RUNNING", "1", SHOWN_WITHIN)
        .await;
    browser.screenshot(&artifact_path("overview.png")).await;

    browser.open(&format!("{master}/#/frameworks")).await;
    browser.wait_for_text("main", "ui-demo", SHOWN_WITHIN).await;
    browser.open(&format!("{master}/#/agents")).await;
    browser.wait_for_text("main", "rack:a", SHOWN_WITHIN).await;
    browser.screenshot(&artifact_path("agents.png")).await;
    browser.open(&format!("{master}/#/tasks")).await;
    browser
        .wait_for_text("main", "TASK_RUNNING", SHOWN_WITHIN)
        .await;
    browser.wait_for_text("main", "greeter", SHOWN_WITHIN).await;
    browser.screenshot(&artifact_path("tasks.png")).await;

    // The sandbox through the agent's /state and /files (another origin: CORS).
    browser.click("a[href^='#/sandbox/']").await;
    browser.wait_for_text("main", "stdout", SHOWN_WITHIN).await;
    browser.screenshot(&artifact_path("sandbox.png")).await;
    browser.click("a[data-name='stdout']").await;
    browser
        .wait_for_text("#file", "hello from the sandbox", SHOWN_WITHIN)
        .await;
    browser.screenshot(&artifact_path("stdout.png")).await;

    // The task's page follows it to TASK_KILLED, with its status history.
    browser
        .open(&format!("{master}/#/tasks/{fid}/greeter"))
        .await;
    browser
        .wait_for_text("#task-state", "TASK_RUNNING", SHOWN_WITHIN)
        .await;
    let kill = Call {
        kill: Some(Kill {
            task_id: "greeter".into(),
            agent_id: None,
            kill_policy: None,
        }),
        ..Call::new(CallType::Kill, None)
    };
    assert_eq!(sub.call(kill).await.unwrap(), 202);
    await_state(&mut sub, "greeter", TaskState::Killed).await;
    browser
        .wait_for_text("#task-state", "TASK_KILLED", SHOWN_WITHIN)
        .await;
    browser
        .wait_for_text("main", "TASK_RUNNING", SHOWN_WITHIN)
        .await;
    browser.screenshot(&artifact_path("task-killed.png")).await;

    browser.open(&format!("{master}/#/roles")).await;
    browser.wait_for_text("main", "*", SHOWN_WITHIN).await;
    browser.open(&format!("{master}/#/agents/{agent_id}")).await;
    browser
        .wait_for_text("main", "TASK_KILLED", SHOWN_WITHIN)
        .await;
    drop(browser);
    c.shutdown().await;
}

/// `/master/roles` as Mesos's `model(Role)`: every subscribed role with its frameworks and
/// what its live tasks hold.
#[tokio::test]
async fn master_roles_lists_each_role_with_its_frameworks_and_allocation() {
    let c = common::cluster(1).await;
    let master = c.master_url();
    let mut sub = subscribe_framework(&master, framework_info("roles", &[])).await;
    launch_running(&mut sub, "holder", "sleep 600").await;
    for path in ["/master/roles", "/roles"] {
        let roles = get_json(&format!("{master}{path}")).await;
        let star = &roles["roles"][0];
        assert_eq!(star["name"], "*", "{roles}");
        assert_eq!(star["weight"], 1.0);
        assert_eq!(
            star["frameworks"],
            serde_json::json!([sub.framework_id.value])
        );
        assert_eq!(star["resources"]["cpus"], 0.1, "{roles}");
        assert_eq!(star["resources"]["mem"], 32.0, "{roles}");
    }
    c.shutdown().await;
}

/// The page served by the master reads agents' /state and /files, and (on HA clusters) other
/// masters: their GET answers are readable from any origin; writes are not opened.
#[tokio::test]
async fn masters_and_agents_open_their_reads_to_the_ui_by_cors() {
    let c = common::cluster(1).await;
    let client = reqwest::Client::new();
    let agent = c.agent_url(0).unwrap();
    for url in [
        format!("{}/master/state", c.master_url()),
        format!("{}/", c.master_url()),
        format!("{agent}/state"),
        format!("{agent}/files/browse?path=/"),
    ] {
        let answer = client
            .get(&url)
            .header("Origin", "http://elsewhere:1")
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.headers()["access-control-allow-origin"],
            "*",
            "{url}"
        );
    }
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/master/state", c.master_url()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, HEAD"
    );
    let post = client
        .post(format!("{}/api/v1", c.master_url()))
        .header("Origin", "http://elsewhere:1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(post.headers().get("access-control-allow-origin").is_none());
    c.shutdown().await;
}

/// On an HA cluster the page reads the leader, wherever it was opened: on a master that does not
/// lead, and on the leader itself — which, once stopped, leaves the page to find the next one
/// among the masters `/ui/masters` named.
#[tokio::test(flavor = "multi_thread")]
async fn the_ui_follows_the_leader_of_an_ha_cluster() {
    let Some(mut browser) = Chromium::launch_or_skip("UI follows the HA leader").await else {
        return;
    };
    let Some(mut ha) =
        common::ha::Ha::start("UI follows the HA leader", 3, Duration::from_secs(2)).await
    else {
        return;
    };
    let leader = ha.leader().unwrap();
    let follower = (0..3).find(|&i| i != leader).unwrap();
    let first = pid_of(&ha.url(leader)).await;
    // Every master, leading or not, names all three.
    let listed = get_json(&format!("{}/ui/masters", ha.url(follower))).await;
    assert_eq!(listed["masters"].as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(listed["masters"][0]["pid"], first.as_str(), "{listed}");

    browser.open(&format!("{}/", ha.url(follower))).await;
    browser
        .wait_for_text("#leader", &format!("leader {first}"), SHOWN_WITHIN)
        .await;
    browser
        .screenshot(&artifact_path("ha-on-a-follower.png"))
        .await;

    // Opened on the leader, it learns the other masters, and turns to them once it stops.
    browser.open(&format!("{}/", ha.url(leader))).await;
    browser
        .wait_for_text("#leader", &format!("leader {first}"), SHOWN_WITHIN)
        .await;
    browser
        .wait_for("known.length >= 4", SHOWN_WITHIN)
        .await
        .unwrap();
    ha.cluster.stop_master(leader, true).await.unwrap();
    let next = ha.await_leader(Some(leader), Duration::from_secs(20)).await;
    let second = pid_of(&ha.url(next)).await;
    assert_ne!(first, second);
    browser
        .wait_for_text("#leader", &format!("leader {second}"), SHOWN_WITHIN)
        .await;
    browser.wait_for_text("main", &second, SHOWN_WITHIN).await;
    browser.screenshot(&artifact_path("ha-after.png")).await;
    drop(browser);
    ha.shutdown().await;
}

/// How fast the page first paints and shows 100 agents (docs/web-ui.md quotes the figures).
#[tokio::test(flavor = "multi_thread")]
async fn first_paint_on_100_simulated_agents() {
    let Some(mut browser) = Chromium::launch_or_skip("UI first paint on 100 agents").await else {
        return;
    };
    let mut c = common::master_only().await;
    c.add_simulated_agents(100, AgentOptions::default(), Default::default())
        .await
        .unwrap();
    let master = c.master_url();
    let started = Instant::now();
    browser.open(&format!("{master}/")).await;
    let loaded = started.elapsed();
    browser
        .wait_for_text("#agents-count", "100", SHOWN_WITHIN)
        .await;
    let shown = started.elapsed();
    let paint = browser
        .eval("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || -1")
        .await;
    let fcp = paint.as_f64().unwrap();
    let metrics = browser.metrics().await;
    browser
        .screenshot(&artifact_path("overview-100-agents.png"))
        .await;
    browser.open(&format!("{master}/#/agents")).await;
    browser
        .wait_for(
            "document.querySelectorAll('main tr').length > 100",
            SHOWN_WITHIN,
        )
        .await
        .unwrap();
    browser.screenshot(&artifact_path("agents-100.png")).await;
    eprintln!(
        "UI on 100 agents: first-contentful-paint {fcp:.0} ms after navigation; loaded in {} ms; \
         100 agents shown {} ms after navigating (JS heap {} bytes, {} DOM nodes)",
        loaded.as_millis(),
        shown.as_millis(),
        metrics["JSHeapUsedSize"],
        metrics["Nodes"],
    );
    assert!(fcp > 0.0, "no first-contentful-paint entry");
    assert!(shown < Duration::from_secs(10), "{shown:?}");
    drop(browser);
    c.shutdown().await;
}

/// On the Docker backend the master container's published port serves the page, which lists
/// the agent containers.
#[tokio::test(flavor = "multi_thread")]
async fn the_ui_of_a_docker_cluster_shows_its_agents() {
    use mmrun::cluster::docker::DockerBackend;
    use mmrun::cluster::docker::specs::NodeImages;
    use mmrun::cluster::{AgentSpec, Backend, ClusterSpec};
    use mmrun::docker::{Docker, NodeImage};

    let test = "ui-docker";
    if !common::docker::docker_available(test) {
        return;
    }
    let Some(mut browser) = Chromium::launch_or_skip(test).await else {
        return;
    };
    let docker = Docker::connect().await.unwrap();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_mmrun")).to_path_buf();
    let image = tokio::task::spawn_blocking(move || NodeImage::for_binary(&binary))
        .await
        .unwrap()
        .unwrap();
    image.ensure(&docker).await.unwrap();
    let backend = DockerBackend::new(
        docker,
        NodeImages::Mmrun {
            image: image.tag().to_string(),
        },
    );
    let mut cluster = backend
        .create(ClusterSpec {
            scenario: test.to_string(),
            ..ClusterSpec::default()
        })
        .await
        .unwrap();
    let (url, ids) = cluster
        .start_cluster(vec![AgentSpec::default()])
        .await
        .unwrap();
    assert!(
        cluster
            .how_to_reach()
            .unwrap()
            .contains(&format!("web UI    {url}/")),
        "{:?}",
        cluster.how_to_reach()
    );
    browser.open(&format!("{url}/")).await;
    browser
        .wait_for_text("#agents-count", "1", SHOWN_WITHIN)
        .await;
    browser.open(&format!("{url}/#/agents")).await;
    browser.wait_for_text("main", &ids[0], SHOWN_WITHIN).await;
    browser
        .screenshot(&artifact_path("docker-agents.png"))
        .await;
    drop(browser);
    cluster.teardown().await;
}

/// The helper drives any page, a local HTML file too (as a run's HTML report is).
#[tokio::test(flavor = "multi_thread")]
async fn the_chromium_helper_opens_a_local_html_file() {
    let Some(mut browser) = Chromium::launch_or_skip("Chromium helper on a file").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(
        &page,
        "<h1>Report</h1><p id=late></p><script>setTimeout(() => { late.textContent = 'all 3 passed' }, 200)</script>",
    )
    .unwrap();
    browser.open(&format!("file://{}", page.display())).await;
    browser.wait_for_text("h1", "Report", SHOWN_WITHIN).await;
    browser
        .wait_for_text("#late", "all 3 passed", SHOWN_WITHIN)
        .await;
    assert_eq!(browser.eval("1 + 2").await, serde_json::json!(3));
    let shot = dir.path().join("report.png");
    browser.screenshot(&shot).await;
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}
