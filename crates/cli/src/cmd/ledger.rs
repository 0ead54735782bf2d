//! `jiuzhu ledger`: verify the audit ledger, sign tree heads, prove inclusion, make the key.
//!
//! The ledger's signing key lives in a file outside the database (`--key`, by default
//! `<data dir>/keys/ledger.key`, mode 0600); `keygen` makes it, and `head` makes it when it is
//! missing. This module reads the clock (tree-head timestamps) and the OS random source (keys);
//! the ledger library does neither.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ledger::sql::SqlStore;
use ledger::{
    HashAlgorithm, Ledger, LedgerStore, PublicKey, SignatureAlgorithm, SignedTreeHead, SigningKey,
    Timestamp, Verification,
};

/// The subcommands of `jiuzhu ledger`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Verify the whole log: every entry against its hash, the tree against every signed tree
    /// head; names the first bad entry.
    Verify(VerifyArgs),
    /// Sign the current tree head, keep it in the database and print it as JSON.
    Head(HeadArgs),
    /// Print the inclusion proof of one entry and verify it against the tree head.
    Prove(ProveArgs),
    /// Make a new signing key file.
    Keygen(KeygenArgs),
}

/// Where the ledger and its key are.
#[derive(clap::Args, Debug)]
pub struct Location {
    /// The data directory.
    #[arg(long, env = "JIUZHU_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The database: `sqlite:PATH` or `postgres://…` [default: sqlite:<data dir>/jiuzhu.sqlite, the installation's one database].
    #[arg(long, env = "JIUZHU_DATABASE")]
    database: Option<String>,
    /// The signing key file [default: <data dir>/keys/ledger.key].
    #[arg(long, env = "JIUZHU_LEDGER_KEY")]
    key: Option<PathBuf>,
    /// The log's hash function: sm3 or sha256.
    #[arg(long, default_value = "sm3", value_parser = parse_hash)]
    hash: HashAlgorithm,
}

/// Arguments of `jiuzhu ledger verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    location: Location,
    /// A published tree head (JSON from `jiuzhu ledger head`) the log must still match.
    #[arg(long)]
    tree_head: Option<PathBuf>,
}

/// Arguments of `jiuzhu ledger head`.
#[derive(clap::Args, Debug)]
pub struct HeadArgs {
    #[command(flatten)]
    location: Location,
    /// Also write the signed head to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The signature scheme of a key made because none exists: sm2 or ed25519.
    #[arg(long, default_value = "sm2", value_parser = parse_signature)]
    algorithm: SignatureAlgorithm,
}

/// Arguments of `jiuzhu ledger prove`.
#[derive(clap::Args, Debug)]
pub struct ProveArgs {
    #[command(flatten)]
    location: Location,
    /// The entry's index (0-based).
    #[arg(long)]
    entry: u64,
    /// The tree size to prove against [default: the current size].
    #[arg(long)]
    size: Option<u64>,
}

/// Arguments of `jiuzhu ledger keygen`.
#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// The data directory.
    #[arg(long, env = "JIUZHU_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The key file to write [default: <data dir>/keys/ledger.key].
    #[arg(long, env = "JIUZHU_LEDGER_KEY")]
    key: Option<PathBuf>,
    /// The signature scheme: sm2 or ed25519.
    #[arg(long, default_value = "sm2", value_parser = parse_signature)]
    algorithm: SignatureAlgorithm,
    /// Replace an existing key file (heads signed by the old key no longer verify with it).
    #[arg(long)]
    force: bool,
}

fn parse_hash(text: &str) -> Result<HashAlgorithm, String> {
    HashAlgorithm::parse(text).ok_or_else(|| "expected sm3 or sha256".to_string())
}

fn parse_signature(text: &str) -> Result<SignatureAlgorithm, String> {
    SignatureAlgorithm::parse(text).ok_or_else(|| "expected sm2 or ed25519".to_string())
}

/// Runs `jiuzhu ledger`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Verify(args) => verify(args),
        Command::Head(args) => head(args),
        Command::Prove(args) => prove(args),
        Command::Keygen(args) => keygen(args),
    }
}

impl Location {
    fn key_path(&self) -> PathBuf {
        key_path(&self.data_dir, self.key.as_deref())
    }

    fn open(&self) -> anyhow::Result<Ledger<SqlStore>> {
        Ledger::open(self.store()?, self.hash).context("opening the ledger")
    }

    fn store(&self) -> anyhow::Result<SqlStore> {
        let url = match &self.database {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir).with_context(|| {
                    format!("creating the data directory {}", self.data_dir.display())
                })?;
                format!(
                    "sqlite:{}",
                    self.data_dir
                        .join(crate::cmd::users::DATABASE_FILE)
                        .display()
                )
            }
        };
        SqlStore::connect(&url).context("opening the ledger database")
    }

    /// The public key of the key file, if there is one.
    fn trusted_key(&self) -> anyhow::Result<Option<PublicKey>> {
        let path = self.key_path();
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(read_key(&path)?.public_key().clone()))
    }
}

fn key_path(data_dir: &Path, key: Option<&Path>) -> PathBuf {
    key.map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("keys").join("ledger.key"))
}

fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the ledger key {}", path.display()))?;
    SigningKey::from_key_file(&text)
        .with_context(|| format!("reading the ledger key {}", path.display()))
}

/// Makes a key from the OS random source and writes it, readable by the owner only.
fn write_new_key(path: &Path, algorithm: SignatureAlgorithm) -> anyhow::Result<SigningKey> {
    let key = loop {
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(&mut seed))
            .context("reading the OS random source")?;
        match SigningKey::from_seed(algorithm, seed) {
            Ok(key) => break key,
            Err(ledger::KeyError::InvalidSeed) => continue,
            Err(error) => return Err(error.into()),
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the ledger key {}", path.display()))?;
    std::io::Write::write_all(&mut file, key.to_key_file().as_bytes())
        .with_context(|| format!("writing the ledger key {}", path.display()))?;
    Ok(key)
}

fn now() -> anyhow::Result<Timestamp> {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(Timestamp(
        i64::try_from(elapsed.as_millis()).context("the system clock is out of range")?,
    ))
}

fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let path = key_path(&args.data_dir, args.key.as_deref());
    if path.exists() {
        if !args.force {
            bail!("{} exists; pass --force to replace it", path.display());
        }
        std::fs::remove_file(&path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let key = write_new_key(&path, args.algorithm)?;
    println!(
        "wrote {} key {} (fingerprint {})",
        args.algorithm,
        path.display(),
        key.public_key().fingerprint()
    );
    Ok(())
}

fn head(args: HeadArgs) -> anyhow::Result<()> {
    let path = args.location.key_path();
    let key = if path.exists() {
        read_key(&path)?
    } else {
        let key = write_new_key(&path, args.algorithm)?;
        eprintln!(
            "made a new {} signing key at {} (fingerprint {}); keep it out of the database backups",
            args.algorithm,
            path.display(),
            key.public_key().fingerprint()
        );
        key
    };
    let mut ledger = args.location.open()?;
    let signed = ledger
        .publish(&key, now()?)
        .context("publishing the tree head")?;
    let json = signed.to_json();
    if let Some(out) = &args.out {
        std::fs::write(out, format!("{json}\n"))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    println!("{json}");
    Ok(())
}

fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let trusted = args.location.trusted_key()?;
    // Verification reads the store directly: a damaged log may not open as a ledger.
    let mut store = args.location.store()?;
    let mut heads = Vec::new();
    for signed in store.heads().context("reading the tree heads")? {
        check_signature(&signed, trusted.as_ref(), "a stored tree head")?;
        heads.push(signed.head);
    }
    if let Some(path) = &args.tree_head {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let signed = SignedTreeHead::from_json(&text)
            .with_context(|| format!("{} is not a signed tree head", path.display()))?;
        check_signature(&signed, trusted.as_ref(), "the given tree head")?;
        heads.push(signed.head);
    }
    if trusted.is_none() {
        eprintln!(
            "warning: no key file at {}; tree-head signatures were checked against the keys they carry",
            args.location.key_path().display()
        );
    }
    let algorithm = args.location.hash;
    match ledger::verify(&mut store, algorithm, &heads).context("verifying the ledger")? {
        Verification::Intact {
            size,
            root,
            heads_checked,
        } => {
            println!(
                "ledger intact: {size} entries, root {root} ({algorithm}), {heads_checked} tree heads checked"
            );
            Ok(())
        }
        Verification::Tampered(finding) => {
            println!(
                "ledger TAMPERED: first bad entry {}: {}",
                finding.first_bad_entry, finding.problem
            );
            bail!(
                "the ledger failed verification at entry {}",
                finding.first_bad_entry
            )
        }
    }
}

fn check_signature(
    signed: &SignedTreeHead,
    trusted: Option<&PublicKey>,
    what: &str,
) -> anyhow::Result<()> {
    let size = signed.head.size;
    if !signed.signature_is_valid() {
        bail!("{what} (size {size}) has an invalid signature");
    }
    if let Some(trusted) = trusted
        && signed.public_key != *trusted
    {
        bail!(
            "{what} (size {size}) is signed by key {}, not by the ledger key {}",
            signed.public_key.fingerprint(),
            trusted.fingerprint()
        );
    }
    Ok(())
}

fn prove(args: ProveArgs) -> anyhow::Result<()> {
    let mut ledger = args.location.open()?;
    let size = args.size.unwrap_or(ledger.size());
    let entry = ledger
        .entry_proof(args.entry, size)
        .context("proving inclusion")?;
    println!("{}", entry.to_json());
    let head = match &entry.tree_head {
        Some(signed) => {
            check_signature(
                signed,
                args.location.trusted_key()?.as_ref(),
                "the tree head",
            )?;
            signed.head
        }
        None => ledger::TreeHead {
            size,
            root: ledger.root_at(size)?,
            ..ledger.head(now()?)
        },
    };
    if !entry.verify(&head) {
        bail!(
            "the inclusion proof of entry {} does not verify",
            args.entry
        );
    }
    match entry.tree_head {
        Some(_) => println!(
            "verified: entry {} is in the signed tree head of size {size}",
            args.entry
        ),
        None => println!(
            "verified: entry {} is in the tree of size {size} (no signed head of that size yet; \
             `jiuzhu ledger head` signs one)",
            args.entry
        ),
    }
    Ok(())
}

/// Records an import batch in the installation's audit ledger (`import_batch`, data = SM3 of
/// its manifest), as the platform; `None` when the installation has no database yet.
pub fn record_import(
    data_dir: &Path,
    database: Option<&str>,
    batch_id: &str,
    manifest: &[u8],
) -> anyhow::Result<Option<u64>> {
    record_system(
        data_dir,
        database,
        ledger::Action::ImportBatch,
        ledger::Purpose::DataExchange,
        &format!("batch:{batch_id}"),
        manifest,
    )
}

/// Records a screening run that is not loaded into the store (`monitoring_run`, data = SM3 of
/// its `run.json`, which hashes the pack, every input and every result file), as the platform;
/// `None` when the installation has no database yet. A loaded run is recorded by the store.
pub fn record_run(
    data_dir: &Path,
    database: Option<&str>,
    run_id: &str,
    manifest: &[u8],
) -> anyhow::Result<Option<u64>> {
    record_system(
        data_dir,
        database,
        ledger::Action::MonitoringRun,
        ledger::Purpose::Monitoring,
        &format!("run:{run_id}"),
        manifest,
    )
}

/// Appends one entry of the platform itself (user 0, the whole country) to the installation's
/// ledger through the ledger crate's own store (no key needed): the subject is the plain SM3 of
/// `subject`, the data the plain SM3 of `data`, so whoever holds the file can check it.
fn record_system(
    data_dir: &Path,
    database: Option<&str>,
    action: ledger::Action,
    purpose: ledger::Purpose,
    subject: &str,
    data: &[u8],
) -> anyhow::Result<Option<u64>> {
    let url = match database {
        Some(url) => url.to_string(),
        None => {
            let file = data_dir.join(crate::cmd::users::DATABASE_FILE);
            if !file.exists() {
                return Ok(None);
            }
            format!("sqlite:{}", file.display())
        }
    };
    let hash = HashAlgorithm::Sm3;
    let entry = ledger::Entry {
        at: now()?,
        actor: ledger::UserId(0),
        role: ledger::Role::System,
        region: domain::RegionCode::parse("000000000000").context("the whole-country region")?,
        action,
        purpose,
        case: None,
        subject: ledger::SubjectRef::Hashed(hash.hash(subject.as_bytes())),
        data: ledger::DataHash::of(hash, data),
    };
    // Another writer may append between opening and appending: open again and retry.
    for _ in 0..20 {
        let store = SqlStore::connect(&url).context("opening the ledger database")?;
        let mut log = Ledger::open(store, hash).context("opening the ledger")?;
        match log.append(&[entry]) {
            Ok(range) => {
                log.into_store().close();
                return Ok(Some(range.start));
            }
            Err(ledger::LedgerError::Store(ledger::StoreError::Conflict { .. })) => continue,
            Err(error) => return Err(error).context("writing to the audit ledger"),
        }
    }
    bail!("the audit ledger is too busy to record this; what was done stands")
}
