//! The file store behind print files and thumbnails: a local directory by default
//! (the `object_store` crate, so S3-compatible stores slot in for scale-out).

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
}

impl FileStore {
    /// A store in a local directory (created if missing).
    pub fn local(dir: &Path) -> Result<FileStore, object_store::Error> {
        std::fs::create_dir_all(dir).map_err(|e| object_store::Error::Generic {
            store: "local",
            source: Box::new(e),
        })?;
        let local = LocalFileSystem::new_with_prefix(dir)?;
        Ok(FileStore {
            objects: Arc::new(local),
        })
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

    /// The keys and sizes of the objects under `prefix` (a farm's `{tenant}/`), in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, object_store::Error> {
        use futures::TryStreamExt;
        let mut objects: Vec<(String, u64)> = self
            .objects
            .list(Some(&ObjectPath::from(prefix)))
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
