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
