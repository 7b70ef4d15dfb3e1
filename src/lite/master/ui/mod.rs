//! The master's web UI (docs/web-ui.md): a page at `/` and its script and style under `/ui/`,
//! compiled into the binary so a cluster needs no network and no files to show it. The page
//! reads the same JSON any client reads (`/master/state`, `/master/roles`, agents' `/state` and
//! `/files`); every master serves it, leading or not, and the page follows the leader itself,
//! knowing the other masters from `/ui/masters`.

mod masters;

use super::MasterShared;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// The paths this module serves, which a non-leading master serves too (see `leadership`).
pub fn is_ui_path(path: &str) -> bool {
    matches!(path, "/" | "/ui/app.js" | "/ui/app.css" | "/ui/masters")
}

pub fn routes() -> Router<Arc<MasterShared>> {
    Router::new()
        .route("/ui/masters", get(masters::masters))
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/ui/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

/// No caching: a page kept open across an mmrun upgrade must not mix old and new files.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_script_and_style_served_beside_it() {
        assert!(INDEX_HTML.contains("src=\"/ui/app.js\""));
        assert!(INDEX_HTML.contains("href=\"/ui/app.css\""));
        assert!(is_ui_path("/") && is_ui_path("/ui/app.js") && is_ui_path("/ui/app.css"));
        assert!(!is_ui_path("/master/state"));
    }
}
