//! Image operations. mmrun never pulls: there may be no registry, so every image it uses is
//! built locally from a tar context (see `node_image`).

use super::client::Docker;
use super::error::{DockerError, is_not_found, one_line, reason};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures::StreamExt;
use std::collections::HashMap;

impl Docker {
    /// Whether the image (`repo:tag` or id) exists in the engine.
    pub async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        match self.api.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(DockerError::InspectImage {
                image: image.to_string(),
                reason: reason(&e),
            }),
        }
    }

    /// Builds `tag` from a tar build context holding a `Dockerfile`, with the classic builder
    /// (no BuildKit session needed, and nothing is pulled: `FROM scratch` only).
    pub async fn build_image(&self, tag: &str, context: Vec<u8>) -> Result<(), DockerError> {
        let options = BuildImageOptionsBuilder::default()
            .dockerfile("Dockerfile")
            .t(tag)
            .rm(true)
            .forcerm(true)
            .build();
        let failed = |reason: String| DockerError::BuildImage {
            image: tag.to_string(),
            reason,
        };
        let mut output =
            self.api
                .build_image(options, None, Some(bollard::body_full(context.into())));
        // The last step printed tells where a failed build stopped.
        let mut last_step = String::new();
        while let Some(info) = output.next().await {
            match info {
                Ok(info) => {
                    if let Some(line) = info.stream.as_deref().map(str::trim)
                        && line.starts_with("Step ")
                    {
                        last_step = line.to_string();
                    }
                }
                Err(e) if last_step.is_empty() => return Err(failed(reason(&e))),
                Err(e) => {
                    return Err(failed(format!(
                        "{} (at {})",
                        reason(&e),
                        one_line(&last_step)
                    )));
                }
            }
        }
        // The classic builder can end its stream without an error yet without an image.
        if !self.image_exists(tag).await? {
            return Err(failed("the build ended without producing the image".into()));
        }
        Ok(())
    }

    /// The tags (`repository:tag`) of the images in `repository`, e.g. every `mmrun-node:*`.
    pub async fn list_image_tags(&self, repository: &str) -> Result<Vec<String>, DockerError> {
        let filters = HashMap::from([("reference", vec![repository.to_string()])]);
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let images = self
            .api
            .list_images(Some(options))
            .await
            .map_err(|e| DockerError::ListImages { reason: reason(&e) })?;
        let prefix = format!("{repository}:");
        let mut tags: Vec<String> = images
            .into_iter()
            .flat_map(|i| i.repo_tags)
            .filter(|t| t.starts_with(&prefix))
            .collect();
        tags.sort();
        Ok(tags)
    }

    /// Removes an image tag (the image itself goes when no tag is left). Already gone is fine.
    pub async fn remove_image(&self, image: &str) -> Result<(), DockerError> {
        let options = RemoveImageOptionsBuilder::default().build();
        match self.api.remove_image(image, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(DockerError::RemoveImage {
                image: image.to_string(),
                reason: reason(&e),
            }),
        }
    }
}
