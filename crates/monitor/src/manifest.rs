//! The run manifest (`run.json` beside the result files): what a run read and what it wrote,
//! by content hash, so that a run can be audited without its data.
//!
//! It names the as-of date, the policy pack (name, version and the digest of its files), every
//! Parquet file of the lake the run read (BLAKE3, the hash the lake already uses for batch
//! identities) and every result file (BLAKE3). It holds no personal data: paths inside the
//! lake, sizes and hashes only. The ledger entry of a loaded run holds the plain SM3 of this
//! file, so an auditor with the files can check the whole chain: entry → manifest → each file.
//!
//! The run id is derived from what decides the results — the as-of date, the pack digest and the
//! input hashes — so screening the same data with the same pack at the same date gives the same
//! id, and loading it twice changes nothing.

use std::path::{Component, Path};

use domain::Date;
use policy::pack::Pack;
use serde::{Deserialize, Serialize};

use crate::{LakeFiles, MonitorError};

/// Version of the manifest format.
pub const MANIFEST_FORMAT: u32 = 1;

/// The manifest's file name in a run's output folder.
pub const MANIFEST_FILE: &str = "run.json";

/// The result files a run writes, in the order the manifest lists them.
pub const OUTPUT_FILES: &[&str] = &[
    "households.csv",
    "households.parquet",
    "persons.csv",
    "persons.parquet",
    "anomalies.csv",
    "anomalies.parquet",
    "warnings.csv",
    "warnings.parquet",
    "recommendations.csv",
    "recommendations.parquet",
    "linkage.csv",
    "linkage.parquet",
    "summary.txt",
];

/// The pack a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// [`Pack::digest`].
    pub digest: String,
}

/// One file and its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// The feed, for an input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// The path inside the lake (`batches/<batch>/…`) or the result file's name.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// BLAKE3 of its content (hex).
    pub blake3: String,
}

/// What a run read and wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The run id: the as-of date and 16 hex digits of BLAKE3 over the pack digest and the
    /// inputs.
    pub run_id: String,
    /// The as-of date.
    pub as_of: String,
    /// The policy pack.
    pub pack: PackRef,
    /// The lake's files, feed by feed in commit order.
    pub inputs: Vec<FileHash>,
    /// The result files.
    pub outputs: Vec<FileHash>,
}

impl RunManifest {
    /// The lake's files and their hashes, feed by feed in commit order (a run computes them
    /// while it writes its results).
    pub fn inputs(lake: &LakeFiles) -> Result<Vec<FileHash>, MonitorError> {
        let mut inputs = Vec::new();
        for feed in crate::Feed::ALL {
            for path in lake.files(feed) {
                let (bytes, blake3) = hash_file(path)?;
                inputs.push(FileHash {
                    feed: Some(feed.name().to_string()),
                    file: lake_path(path),
                    bytes,
                    blake3,
                });
            }
        }
        Ok(inputs)
    }

    /// The manifest of a run from its inputs ([`Self::inputs`]) and its outputs as
    /// [`crate::Results::write`] wrote and hashed them, with the run id derived.
    pub fn with_files(
        inputs: Vec<FileHash>,
        outputs: Vec<FileHash>,
        pack: &Pack,
        as_of: Date,
    ) -> RunManifest {
        let mut identity = blake3::Hasher::new();
        identity.update(as_of.to_string().as_bytes());
        identity.update(b"\x1f");
        identity.update(pack.digest.as_bytes());
        for i in &inputs {
            identity.update(b"\x1e");
            identity.update(i.blake3.as_bytes());
        }
        let hex = identity.finalize().to_hex().to_string();
        RunManifest {
            format: MANIFEST_FORMAT,
            run_id: format!("{as_of}-{}", &hex[..16]),
            as_of: as_of.to_string(),
            pack: PackRef {
                name: pack.name.clone(),
                version: pack.version.clone(),
                digest: pack.digest.clone(),
            },
            inputs,
            outputs,
        }
    }

    /// The manifest as written: pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    }

    /// Writes `run.json` into `out`; returns the bytes written (the ledger hashes exactly these).
    pub fn write(&self, out: &Path) -> Result<Vec<u8>, MonitorError> {
        let bytes = self.to_bytes();
        let path = out.join(MANIFEST_FILE);
        std::fs::write(&path, &bytes).map_err(|e| MonitorError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(bytes)
    }

    /// Checks the result files in `out` against the manifest; the names of those that differ
    /// or are missing.
    pub fn changed_outputs(&self, out: &Path) -> Vec<String> {
        self.outputs
            .iter()
            .filter(|f| {
                hash_file(&out.join(&f.file))
                    .map(|(bytes, hash)| bytes != f.bytes || hash != f.blake3)
                    .unwrap_or(true)
            })
            .map(|f| f.file.clone())
            .collect()
    }
}

/// Size and BLAKE3 (hex) of a file, read in blocks.
fn hash_file(path: &Path) -> Result<(u64, String), MonitorError> {
    let error = |e: std::io::Error| MonitorError::Write {
        path: path.display().to_string(),
        message: format!("hashing: {e}"),
    };
    let file = std::fs::File::open(path).map_err(error)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file).map_err(error)?;
    Ok((hasher.count(), hasher.finalize().to_hex().to_string()))
}

/// A lake file's path from the `batches` folder on (`batches/<batch>/<part>`), so that the
/// manifest does not depend on where the data directory is; the whole path otherwise.
fn lake_path(path: &Path) -> String {
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => p.to_str(),
            _ => None,
        })
        .collect();
    match parts.iter().rposition(|p| *p == "batches") {
        Some(i) => parts[i..].join("/"),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lake_paths_start_at_the_batches_folder() {
        assert_eq!(
            lake_path(Path::new(
                "/srv/data/lake/batches/ab12/population/part-0.parquet"
            )),
            "batches/ab12/population/part-0.parquet"
        );
        assert_eq!(lake_path(Path::new("/tmp/x.parquet")), "/tmp/x.parquet");
    }

    /// The hashes taken while the results are written are those of the files as they lie on
    /// disk, listed in the manifest's order.
    #[test]
    fn the_outputs_hashed_as_written_are_the_files_on_disk() {
        let results = crate::Results {
            households: vec![crate::output::HouseholdRow {
                household_id: "H1".into(),
                region_code: "990101001001".into(),
                tier: "dibao".into(),
                level: "none".into(),
                tags: vec!["a".into(), "b".into()],
                ..Default::default()
            }],
            linkage: vec![crate::output::LinkageRow {
                feed: "income",
                row: 7,
                person_id: None,
                probability_milli: 120,
            }],
            ..Default::default()
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let written = results
            .write(dir.path(), Date::from_days(20_000))
            .expect("written");
        let names: Vec<&str> = written.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(names, OUTPUT_FILES);
        for f in &written {
            let (bytes, blake3) = hash_file(&dir.path().join(&f.file)).expect("hashed");
            assert_eq!((f.bytes, &f.blake3), (bytes, &blake3), "{}", f.file);
            assert!(bytes > 0, "{}", f.file);
        }
    }
}
