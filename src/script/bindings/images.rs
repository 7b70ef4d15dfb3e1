//! Images for Docker tasks and executors: `busybox_image`, `node_image`. mmrun never pulls, so
//! scripts get images built locally and offline — by the backend, which owns Docker.

use crate::cluster::OwnImage;
use crate::script::context::{ScenarioCtx, ScriptResult, backend_error};
use rhai::{Engine, FuncRegistration};
use std::sync::Arc;

pub fn register(engine: &mut Engine, scenario: Arc<ScenarioCtx>) {
    let scenario_for_node = scenario.clone();
    FuncRegistration::new("busybox_image")
        .with_params_info(["string"])
        .with_comments([
            "/// The tag of mmrun's busybox image (`mmrun-busybox:<hash>`: `/bin/sh` and core tools, built\n/// `FROM scratch` on first use from this host's busybox, or without one from the host's own\n/// shell and tools; nothing is pulled), for Docker tasks:\n/// `fw.launch(#{ name: \"t\", docker: busybox_image(), cmd: \"echo hi\" })`. Docker backend only.",
        ])
        .register_into_engine(engine, move || -> ScriptResult<String> {
            let backend = scenario.backend.clone();
            scenario
                .block(async move { backend.own_image(OwnImage::Busybox).await })?
                .map_err(|e| backend_error("busybox_image()", e))
        });
    FuncRegistration::new("node_image")
        .with_params_info(["string"])
        .with_comments([
            "/// The tag of mmrun's node image (`mmrun-node:<hash>`, built on first use; the image the\n/// Docker backend's nodes run), which carries this mmrun binary as `/usr/local/bin/mmrun` and a\n/// shell: an image for an executor container running mmrun's example executor,\n/// `executor: #{ id: \"e\", cmd: c.example_executor(), docker: node_image() }`. Docker backend\n/// only.",
        ])
        .register_into_engine(engine, move || -> ScriptResult<String> {
            let backend = scenario_for_node.backend.clone();
            scenario_for_node
                .block(async move { backend.own_image(OwnImage::Node).await })?
                .map_err(|e| backend_error("node_image()", e))
        });
}
