//! Images for Docker tasks: `busybox_image`. mmrun never pulls, so scripts get images built
//! locally and offline, like the node image.

use crate::docker::{Docker, ensure_busybox_image};
use crate::script::context::{ScenarioCtx, ScriptResult};
use rhai::{Engine, FuncRegistration};
use std::sync::Arc;

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
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
}
