//! Network operations: a fresh user-defined bridge per cluster, so nodes reach each other by
//! name and clusters do not see each other.

use super::client::Docker;
use super::error::{DockerError, is_not_found, reason};
use super::labels::Selector;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;
use std::collections::{BTreeMap, HashMap};

/// How long a network whose containers are gone may still report active endpoints.
const ENDPOINTS_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// Who holds which addresses on a network: enough to pick a free one for a new container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkAddresses {
    /// The IPv4 subnets of its IPAM configuration (`10.213.7.0/24`).
    pub subnets: Vec<String>,
    /// Its gateways and the addresses of the containers attached to it.
    pub taken: Vec<std::net::Ipv4Addr>,
}

/// A network as listing reports it.
#[derive(Clone, Debug)]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
}

impl Docker {
    /// Creates a bridge network; returns its id.
    pub async fn create_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, DockerError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..NetworkCreateRequest::default()
        };
        self.api
            .create_network(request)
            .await
            .map(|created| created.id)
            .map_err(|e| DockerError::CreateNetwork {
                name: name.to_string(),
                reason: reason(&e),
            })
    }

    /// Creates a bridge network on a subnet the caller chose (e.g. `10.213.7.0/24`), so that
    /// containers can be given fixed addresses before they start. Returns `Ok(None)` when the
    /// subnet overlaps one already in use, so the caller can try another.
    pub async fn create_network_on(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        subnet: &str,
    ) -> Result<Option<String>, DockerError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    ..IpamConfig::default()
                }]),
                ..Ipam::default()
            }),
            ..NetworkCreateRequest::default()
        };
        match self.api.create_network(request).await {
            Ok(created) => Ok(Some(created.id)),
            Err(e) if reason(&e).contains("overlaps") => Ok(None),
            Err(e) => Err(DockerError::CreateNetwork {
                name: name.to_string(),
                reason: reason(&e),
            }),
        }
    }

    /// Removes a network. Already gone is fine; one still in use is an error, once the
    /// daemon has had a few seconds to let go of the endpoints of containers just removed
    /// (it may still count one for a moment after the removal has returned, most often of a
    /// container that was disconnected from the network and connected again).
    pub async fn remove_network(&self, network: &str) -> Result<(), DockerError> {
        let deadline = tokio::time::Instant::now() + ENDPOINTS_RELEASE;
        loop {
            match self.api.remove_network(network).await {
                Ok(()) => return Ok(()),
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) if has_active_endpoints(&e) && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(DockerError::RemoveNetwork {
                        network: network.to_string(),
                        reason: reason(&e),
                    });
                }
            }
        }
    }

    /// The network's subnets and the addresses taken on it; `None` when it does not exist.
    pub async fn network_addresses(
        &self,
        network: &str,
    ) -> Result<Option<NetworkAddresses>, DockerError> {
        let n = match self.api.inspect_network(network, None).await {
            Ok(n) => n,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(DockerError::InspectNetwork {
                    network: network.to_string(),
                    reason: reason(&e),
                });
            }
        };
        let configs = n.ipam.and_then(|i| i.config).unwrap_or_default();
        let mut addresses = NetworkAddresses::default();
        for c in configs {
            addresses
                .subnets
                .extend(c.subnet.filter(|s| !s.contains(':')));
            addresses
                .taken
                .extend(c.gateway.and_then(|g| g.parse::<std::net::Ipv4Addr>().ok()));
        }
        // Endpoints report `10.213.7.11/24`.
        addresses.taken.extend(
            n.containers
                .unwrap_or_default()
                .into_values()
                .filter_map(|e| {
                    e.ipv4_address?
                        .split('/')
                        .next()?
                        .parse::<std::net::Ipv4Addr>()
                        .ok()
                }),
        );
        Ok(Some(addresses))
    }

    /// Networks carrying the selector's labels.
    pub async fn list_networks(
        &self,
        selector: &Selector,
    ) -> Result<Vec<NetworkSummary>, DockerError> {
        let options = ListNetworksOptionsBuilder::default()
            .filters(&selector.filters())
            .build();
        let found = self
            .api
            .list_networks(Some(options))
            .await
            .map_err(|e| DockerError::ListNetworks { reason: reason(&e) })?;
        Ok(found
            .into_iter()
            .map(|n| NetworkSummary {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                labels: n.labels.unwrap_or_default(),
            })
            .collect())
    }
}

/// The daemon's refusal to remove a network that containers are still attached to.
fn has_active_endpoints(error: &bollard::errors::Error) -> bool {
    reason(error).contains("active endpoints")
}
