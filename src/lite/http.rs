//! Serving an axum router on an injected listener until a shutdown signal: `serve(listener,
//! router, shutdown)`. mmrun drives hyper itself rather than `axum::serve` so that idle
//! keep-alive connections are never closed by a header-read timeout: some Mesos clients reuse
//! one connection for every call and fall into a resubscribe loop when it silently closes.

use axum::Router;
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
                router.clone().call(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            // half_close: a libprocess peer (the C++ scheduler driver sending a framework
            // message straight to an agent) may close its side as soon as the request is
            // written; hyper would otherwise drop that request unhandled.
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(None)
                .half_close(true);
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
