//! What the hub keeps on disk in `data_dir`: printer certificate pins and the job each
//! printer was started on. The directory is 0700 and every file 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use bambu::tls::CertPin;
use serde::{Deserialize, Serialize};

/// Reading or writing the data directory failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// File system error.
    #[error("data directory {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A state file is not what the hub wrote.
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

/// The job a printer was started on, with the name the printer reports for it, so a job
/// the user started from the printer's screen is never mistaken for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedJob {
    /// The farm's job id.
    pub job_id: String,
    /// The printer's `subtask_name` for the uploaded file.
    pub subtask_name: String,
}

/// The hub's files: `pins.json` (serial → certificate SHA-256) and `jobs.json`.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    pins: Mutex<BTreeMap<String, String>>,
    jobs: Mutex<BTreeMap<String, StartedJob>>,
}

impl Store {
    /// Opens (creating with 0700) the data directory and reads its files.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        Ok(Store {
            dir: dir.to_owned(),
            pins: Mutex::new(read_json(&dir.join("pins.json"))?),
            jobs: Mutex::new(read_json(&dir.join("jobs.json"))?),
        })
    }

    /// The pin for a printer: the stored fingerprint, or an empty pin set at first contact.
    pub fn pin(&self, serial: &str) -> CertPin {
        let pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        pins.get(serial)
            .and_then(|hex| hex::decode(hex).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map_or_else(CertPin::new, CertPin::pinned)
    }

    /// Records a pin taken at first contact; a no-op when it is already stored.
    pub fn save_pin(&self, serial: &str, pin: &CertPin) -> Result<(), StoreError> {
        let Some(hex) = pin.hex() else {
            return Ok(());
        };
        let mut pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        if pins.get(serial) == Some(&hex) {
            return Ok(());
        }
        pins.insert(serial.to_owned(), hex);
        write_json(&self.dir.join("pins.json"), &*pins)
    }

    /// The job a printer was last started on by this hub.
    pub fn job(&self, serial: &str) -> Option<StartedJob> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(serial)
            .cloned()
    }

    /// Remembers (or with `None` forgets) the job a printer was started on.
    pub fn set_job(&self, serial: &str, job: Option<StartedJob>) -> Result<(), StoreError> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = match job {
            Some(job) => jobs.insert(serial.to_owned(), job.clone()) != Some(job),
            None => jobs.remove(serial).is_some(),
        };
        if changed {
            write_json(&self.dir.join("jobs.json"), &*jobs)?;
        }
        Ok(())
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir))?;
        // An existing directory keeps its mode otherwise; pins are worth protecting.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_error(dir))?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
            path: path.to_owned(),
            source,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(error) => Err(io_error(path)(error)),
    }
}

/// Writes through a temporary file and a rename, so a power cut leaves the old or the new file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Corrupt {
        path: path.to_owned(),
        source,
    })?;
    let temporary = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary).map_err(io_error(&temporary))?;
    file.write_all(&bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn pins_and_jobs_survive_a_restart_in_private_files() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        let store = Store::open(&data).expect("open");
        assert!(store.pin("S1").get().is_none());
        store
            .save_pin("S1", &CertPin::pinned([9u8; 32]))
            .expect("save");
        let job = StartedJob {
            job_id: "job-1".into(),
            subtask_name: "part".into(),
        };
        store.set_job("S1", Some(job.clone())).expect("save job");
        drop(store);

        let store = Store::open(&data).expect("reopen");
        assert_eq!(store.pin("S1").get(), Some([9u8; 32]));
        assert_eq!(store.job("S1"), Some(job));
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("pins.json")), 0o600);
        assert_eq!(mode(&data.join("jobs.json")), 0o600);
    }
}
