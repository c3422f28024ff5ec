//! The file store behind print files and thumbnails: a local directory by default, or an
//! S3-compatible bucket that several server nodes share (the `object_store` crate for
//! both). Downloads still go through the server's own signed links, never the bucket's.

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::Path;
use std::sync::Arc;

/// Objects by key (`{tenant}/files/{file_id}/{filename}`, ...).
#[derive(Debug, Clone)]
pub struct FileStore {
    objects: Arc<dyn ObjectStore>,
    /// `local` or `s3`, for the health report.
    kind: &'static str,
}

/// Why the object store setting cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("object_store: {0}")]
pub struct StoreSettingError(String);

/// Where the objects are, from the `object_store` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(std::path::PathBuf),
    /// An S3-compatible bucket.
    S3 {
        /// The bucket.
        bucket: String,
        /// A key prefix inside it ("" for none).
        prefix: String,
        /// The service's URL (none: AWS itself).
        endpoint: Option<String>,
        /// The region (none: from the environment, else `us-east-1`).
        region: Option<String>,
    },
}

impl Location {
    /// The location a setting names: `None` is `local_dir`; `s3://BUCKET[/PREFIX]?endpoint=..&region=..`.
    pub fn parse(setting: Option<&str>, local_dir: &Path) -> Result<Location, StoreSettingError> {
        let Some(text) = setting.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Location::Local(local_dir.to_path_buf()));
        };
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Location::Local(std::path::PathBuf::from(path)));
        }
        let url = url::Url::parse(text)
            .map_err(|e| StoreSettingError(format!("'{text}' is not a URL: {e}")))?;
        if url.scheme() != "s3" {
            return Err(StoreSettingError(format!(
                "'{}' is not a store this server knows: use s3://BUCKET or leave it out for local files",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(StoreSettingError(
                "keys do not belong in the URL: use object_store_access_key and object_store_secret_key".into(),
            ));
        }
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| StoreSettingError("s3:// needs a bucket: s3://BUCKET".into()))?
            .to_string();
        let prefix = url.path().trim_matches('/').to_string();
        let (mut endpoint, mut region) = (None, None);
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "endpoint" => endpoint = Some(value.into_owned()),
                "region" => region = Some(value.into_owned()),
                other => {
                    return Err(StoreSettingError(format!(
                        "unknown option '{other}' (known: endpoint, region)"
                    )));
                }
            }
        }
        Ok(Location::S3 {
            bucket,
            prefix,
            endpoint,
            region,
        })
    }
}

impl FileStore {
    /// The store the settings name: their `object_store`, else `<data_dir>/files/`.
    pub fn from_settings(settings: &crate::settings::Settings) -> anyhow::Result<FileStore> {
        let location = Location::parse(
            settings.object_store.as_deref(),
            &settings.data_dir.join("files"),
        )?;
        Ok(FileStore::open(
            &location,
            settings.object_store_access_key.as_deref(),
            settings.object_store_secret_key.as_deref(),
        )?)
    }

    /// The store at `location`; `access_key` and `secret_key` for a bucket (else the
    /// `AWS_*` environment variables).
    pub fn open(
        location: &Location,
        access_key: Option<&str>,
        secret_key: Option<&str>,
    ) -> Result<FileStore, object_store::Error> {
        match location {
            Location::Local(dir) => FileStore::local(dir),
            Location::S3 {
                bucket,
                prefix,
                endpoint,
                region,
            } => {
                let mut builder =
                    object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = region {
                    builder = builder.with_region(region);
                }
                if let Some(key) = access_key {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = secret_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let s3 = builder.build()?;
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        ObjectPath::from(prefix.as_str()),
                    ))
                };
                Ok(FileStore {
                    objects,
                    kind: "s3",
                })
            }
        }
    }

    /// A store in a local directory (created if missing).
    pub fn local(dir: &Path) -> Result<FileStore, object_store::Error> {
        std::fs::create_dir_all(dir).map_err(|e| object_store::Error::Generic {
            store: "local",
            source: Box::new(e),
        })?;
        let local = LocalFileSystem::new_with_prefix(dir)?;
        Ok(FileStore {
            objects: Arc::new(local),
            kind: "local",
        })
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Stores a small object from memory.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.objects
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Stores a file from disk in 1 MiB parts: memory does not grow with the file.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), object_store::Error> {
        use tokio::io::AsyncReadExt;
        let io = |e: std::io::Error| object_store::Error::Generic {
            store: "local",
            source: Box::new(e),
        };
        let upload = self.objects.put_multipart(&ObjectPath::from(key)).await?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buffer).await.map_err(io)?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Streams an object's bytes.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<
        (
            u64,
            futures::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
        ),
        object_store::Error,
    > {
        let got = self.objects.get(&ObjectPath::from(key)).await?;
        let size = got.meta.size;
        Ok((size, got.into_stream()))
    }

    /// Reads a small object whole.
    pub async fn read(&self, key: &str) -> Result<Bytes, object_store::Error> {
        self.objects
            .get(&ObjectPath::from(key))
            .await?
            .bytes()
            .await
    }

    /// The keys and sizes of the objects under `prefix` (a farm's `{tenant}/`; empty for
    /// every object), in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, object_store::Error> {
        use futures::TryStreamExt;
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let mut objects: Vec<(String, u64)> = self
            .objects
            .list(prefix.as_ref())
            .map_ok(|meta| (meta.location.to_string(), meta.size))
            .try_collect()
            .await?;
        objects.sort();
        Ok(objects)
    }

    /// Deletes an object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.objects.delete(&ObjectPath::from(key)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Writes, reads back and deletes a small object: the store works end to end.
    pub async fn check(&self) -> Result<(), object_store::Error> {
        let key = ObjectPath::from(format!("_health/{}", uuid::Uuid::new_v4()));
        let probe = Bytes::from_static(b"printfarm");
        self.objects
            .put(&key, PutPayload::from(probe.clone()))
            .await?;
        let read = self.objects.get(&key).await?.bytes().await?;
        self.objects.delete(&key).await?;
        if read != probe {
            return Err(object_store::Error::Generic {
                store: "local",
                source: "the probe object read back differently".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_names_a_local_folder_or_a_bucket() {
        let here = Path::new("/srv/pf/files");
        assert_eq!(
            Location::parse(None, here).expect("local"),
            Location::Local(here.into())
        );
        assert_eq!(
            Location::parse(
                Some("s3://farm-files/prod?endpoint=http://127.0.0.1:9000&region=auto"),
                here
            )
            .expect("s3"),
            Location::S3 {
                bucket: "farm-files".into(),
                prefix: "prod".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("auto".into()),
            }
        );
        for bad in [
            "gs://bucket",
            "s3://key:secret@bucket",
            "s3://bucket?colour=red",
            "not a url",
        ] {
            assert!(Location::parse(Some(bad), here).is_err(), "{bad}");
        }
    }
}
