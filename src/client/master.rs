//! Reads a master's state: `/master/state` and friends, `/version`, `/metrics/snapshot`.

use super::ClientError;
use crate::http_client;
use crate::mesos::state::MasterState;
use serde::de::DeserializeOwned;

#[derive(Clone)]
pub struct MasterClient {
    url: String,
    http: reqwest::Client,
}

impl MasterClient {
    /// `url` like `http://127.0.0.1:5050`.
    pub fn new(url: impl Into<String>) -> MasterClient {
        MasterClient {
            url: url.into().trim_end_matches('/').to_string(),
            http: http_client::peer_client(),
        }
    }

    /// A client for readiness polling: each request gives up after `timeout`, so one that
    /// hangs (a published port whose container is still coming up swallows the connection
    /// while the kernel retries its SYN for seconds) is abandoned and the next poll tried.
    pub fn probing(url: impl Into<String>, timeout: std::time::Duration) -> MasterClient {
        MasterClient {
            url: url.into().trim_end_matches('/').to_string(),
            http: http_client::build(reqwest::Client::builder().no_proxy().timeout(timeout)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.url);
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = r.status();
        let body = r.bytes().await.map_err(|source| ClientError::Unreachable {
            url: url.clone(),
            source,
        })?;
        if !status.is_success() {
            return Err(ClientError::Refused {
                what: path.into(),
                status,
                body: String::from_utf8_lossy(&body).into(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
            what: path.into(),
            detail: e.to_string(),
        })
    }

    pub async fn state(&self) -> Result<MasterState, ClientError> {
        self.get("/master/state").await
    }

    pub async fn raw_state(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/master/state").await
    }

    /// The operator API's GET_TASKS (`POST /api/v1`, JSON): every task with its full status
    /// history (reason, message, source), which `/master/state` leaves out.
    pub async fn tasks(&self) -> Result<crate::mesos::operator::GetTasks, ClientError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            get_tasks: crate::mesos::operator::GetTasks,
        }
        let url = format!("{}/api/v1", self.url);
        let unreachable = |source| ClientError::Unreachable {
            url: url.clone(),
            source,
        };
        let r = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(r#"{"type":"GET_TASKS"}"#)
            .send()
            .await
            .map_err(unreachable)?;
        let status = r.status();
        let body = r.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(ClientError::Refused {
                what: "GET_TASKS".into(),
                status,
                body: String::from_utf8_lossy(&body).into(),
            });
        }
        serde_json::from_slice::<Answer>(&body)
            .map(|a| a.get_tasks)
            .map_err(|e| ClientError::Protocol {
                what: "GET_TASKS".into(),
                detail: e.to_string(),
            })
    }

    /// `/metrics/snapshot`, which every master answers itself, leading or not
    /// (`master/elected` tells which).
    pub async fn raw_metrics(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/metrics/snapshot").await
    }
}
