//! Serving an axum router on an injected listener until a shutdown signal: `serve(listener,
//! router, shutdown)`. mmrun drives hyper itself rather than `axum::serve` so that idle
//! keep-alive connections are never closed by a header-read timeout: some Mesos clients reuse
//! one connection for every call and fall into a resubscribe loop when it silently closes.

use axum::Router;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Service;

/// Serves until `shutdown` resolves. Open connections (including event streams) are then
/// closed at once: a stopping node does not wait for clients.
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        crate::node_log::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                handle(router.clone(), req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            // No half-close: a client that closes its side has gone (an event stream's
            // subscriber is disconnected at once, as libprocess sees it).
            builder.timer(TokioTimer::new()).header_read_timeout(None);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            // Stop first: once the server stops, a connection is not polled again, so no
            // request is handled after its node has begun to stop.
            tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => {}
                _ = conn.as_mut() => {}
            }
        });
    }
    let _ = stop_tx.send(true);
}

/// Hands one request to the router. A libprocess message is handled to the end even if its
/// sender closes the connection first — as a libprocess process handles every message it has
/// read. (The C++ scheduler driver may close its socket to an agent as soon as a framework
/// message is written; hyper then drops the connection and with it an in-flight handler.)
async fn handle(
    mut router: Router,
    req: hyper::Request<Incoming>,
) -> Result<axum::response::Response, std::convert::Infallible> {
    if !crate::libprocess::message::is_message(req.headers()) {
        return router.call(req).await;
    }
    match crate::node_log::spawn(router.call(req)).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!("a libprocess message handler failed: {e}");
            Ok(hyper::StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}
