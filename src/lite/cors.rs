//! CORS for the read-only endpoints: the web UI is served by a master (`master/ui`) and reads
//! other origins — the leading master when it was loaded from another, and every agent's
//! `/state` and `/files` for the sandbox browser. Browsers only let a page read those answers
//! when they carry `Access-Control-Allow-Origin`, as Mesos's do (it answers its UI's JSONP and
//! CORS reads). Only GET and HEAD are opened: nothing that changes the cluster is callable
//! from a page of another origin.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Middleware: answers a preflight `OPTIONS` itself and marks GET/HEAD answers (redirects
/// included, so a browser follows a non-leader's 307 to the leader) readable by any origin.
pub async fn allow_reads(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if method == Method::OPTIONS {
        let mut answer = StatusCode::NO_CONTENT.into_response();
        let headers = answer.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return answer;
    }
    let mut answer = next.run(request).await;
    if method == Method::GET || method == Method::HEAD {
        answer.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/r", get(|| async { "read" }))
            .route("/w", post(|| async { "written" }))
            .layer(axum::middleware::from_fn(allow_reads))
    }

    async fn call(method: Method, path: &str) -> Response {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        app().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn reads_are_open_to_any_origin_and_writes_are_not() {
        let read = call(Method::GET, "/r").await;
        assert_eq!(read.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let write = call(Method::POST, "/w").await;
        assert!(
            write
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_preflight_allows_only_get_and_head() {
        let preflight = call(Method::OPTIONS, "/r").await;
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET, HEAD"
        );
    }
}
