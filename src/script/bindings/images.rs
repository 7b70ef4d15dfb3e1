//! Images for Docker tasks and executors: `busybox_image`, `node_image`. mmrun never pulls, so
//! scripts get images built locally and offline.

use crate::docker::{Docker, ensure_busybox_image, ensure_node_image};
use crate::script::context::{ScenarioCtx, ScriptResult};
use rhai::{Engine, FuncRegistration};
use std::sync::Arc;

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    let scenario_for_node = scenario.clone();
    FuncRegistration::new("busybox_image")
        .with_params_info(["string"])
        .with_comments([
            "/// The tag of mmrun's busybox image (`mmrun-busybox:<hash>`: `/bin/sh` and core tools, built\n/// `FROM scratch` on first use from this host's busybox, or without one from the host's own\n/// shell and tools; nothing is pulled), for Docker tasks:\n/// `fw.launch(#{ name: \"t\", docker: busybox_image(), cmd: \"echo hi\" })`. Fails when no Docker\n/// daemon answers (`DOCKER_HOST`, else /var/run/docker.sock).",
        ])
        .register_into_engine(engine, move || -> ScriptResult<String> {
            let tag = scenario.block(async {
                let docker = Docker::connect().await.map_err(|e| e.to_string())?;
                ensure_busybox_image(&docker)
                    .await
                    .map_err(|e| e.to_string())
            })?;
            tag.map_err(|e| format!("busybox_image: {e}").into())
        });
    FuncRegistration::new("node_image")
        .with_params_info(["string"])
        .with_comments([
            "/// The tag of mmrun's node image (`mmrun-node:<hash>`, built on first use; the image the\n/// Docker backend's nodes run), which carries this mmrun binary as `/usr/local/bin/mmrun` and a\n/// shell: an image for an executor container running mmrun's example executor,\n/// `executor: #{ id: \"e\", cmd: c.example_executor(), docker: node_image() }`. Fails when no\n/// Docker daemon answers.",
        ])
        .register_into_engine(engine, move || -> ScriptResult<String> {
            let tag = scenario_for_node.block(async {
                let docker = Docker::connect().await.map_err(|e| e.to_string())?;
                ensure_node_image(&docker).await.map_err(|e| e.to_string())
            })?;
            tag.map_err(|e| format!("node_image: {e}").into())
        });
}
