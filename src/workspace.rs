//! The folder layout under `var/` (SPEC §4) and the names kravflyt gives files in it.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// The folder that receives the agency's own outbound files (letters, agency reports).
pub const AGENCY_FOLDER: &str = "_agency";

/// Paths of one workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    /// The node whose `work/` and lock this is, when several daemons share one database (and
    /// perhaps this `var/`): `work/<node>/<sender>/` and `kravflyt.<node>.lock` (SPEC §10).
    /// `None` with the embedded store: `work/<sender>/` and `kravflyt.lock`, as always.
    node: Option<String>,
}

impl Workspace {
    pub fn new(var_dir: impl Into<PathBuf>) -> Self {
        Workspace {
            root: var_dir.into(),
            node: None,
        }
    }

    /// The same `var/` as seen by node `node` (`None`: the single node of an embedded store).
    pub fn for_node(mut self, node: Option<&str>) -> Self {
        self.node = node.map(str::to_owned);
        self
    }

    /// The node this workspace's `work/` and lock belong to, if it is one of several.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("kravflyt.db")
    }

    /// Held by `run` and `process` so two writers never share a workspace — or, with several
    /// nodes, so two daemons never run as the same node on a shared `var/`.
    pub fn lock_file(&self) -> PathBuf {
        match &self.node {
            Some(node) => self.root.join(format!("kravflyt.{node}.lock")),
            None => self.root.join("kravflyt.lock"),
        }
    }

    pub fn inbox(&self, sender: &str) -> PathBuf {
        self.root.join("inbox").join(sender)
    }

    /// Where this node claims `sender`'s files.
    pub fn work(&self, sender: &str) -> PathBuf {
        match &self.node {
            Some(node) => self.node_work(node).join(sender),
            None => self.root.join("work").join(sender),
        }
    }

    /// `work/<node>/`: everything node `node` holds (with several nodes).
    pub fn node_work(&self, node: &str) -> PathBuf {
        self.root.join("work").join(node)
    }

    /// `archive/<sender>/YYYY/MM/DD/`.
    pub fn archive(&self, sender: &str, date: NaiveDate) -> PathBuf {
        self.root
            .join("archive")
            .join(sender)
            .join(date.format("%Y").to_string())
            .join(date.format("%m").to_string())
            .join(date.format("%d").to_string())
    }

    pub fn rejected(&self, sender: &str) -> PathBuf {
        self.root.join("rejected").join(sender)
    }

    /// A sender's outbox, or the agency's (`_agency`).
    pub fn outbox(&self, folder: &str) -> PathBuf {
        self.root.join("outbox").join(folder)
    }

    /// Creates every folder a sender needs.
    pub fn create_sender_folders(&self, sender: &str) -> std::io::Result<()> {
        for dir in [
            self.inbox(sender),
            self.work(sender),
            self.rejected(sender),
            self.outbox(sender),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::create_dir_all(self.outbox(AGENCY_FOLDER))?;
        std::fs::create_dir_all(self.root.join("archive").join(sender))
    }

    /// A path relative to the workspace root, as stored in the database.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// The absolute path of a path stored relative to the root.
    pub fn absolute(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }
}

/// The `n`-th name for `name` when earlier ones are taken: `a.csv`, `a.2.csv`, `a.3.csv`.
/// The suffix goes before the last extension so the file still opens with the same program.
pub fn numbered_name(name: &str, n: u32) -> String {
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    let number = if n <= 1 {
        String::new()
    } else {
        format!(".{n}")
    };
    if stem.len() + number.len() + extension.len() <= MAX_NAME_BYTES {
        return format!("{stem}{number}{extension}");
    }
    // Too long for the file system once the temporary-file prefix and suffix are added (255
    // bytes is the usual limit): shortened on a character boundary, with a hash of the whole
    // name so two long names that share a beginning stay apart.
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let tag: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let room = MAX_NAME_BYTES - number.len() - extension.len() - tag.len() - 1;
    let mut cut = room.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{tag}{number}{extension}", &stem[..cut])
}

/// The longest name kravflyt gives a file it writes (archive copies, receipts, outbound
/// files), leaving room for the temporary name's prefix and suffix under the usual 255-byte
/// limit of a file name.
pub const MAX_NAME_BYTES: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered_name("faktura.csv", 1), "faktura.csv");
        assert_eq!(numbered_name("faktura.csv", 2), "faktura.2.csv");
        assert_eq!(numbered_name("faktura", 3), "faktura.3");
        assert_eq!(numbered_name(".hidden", 2), ".hidden.2");
    }

    #[test]
    fn long_names_are_shortened_with_a_hash_and_stay_apart() {
        let long = format!("{}.csv", "æ".repeat(120));
        let other = format!("{}x.csv", "æ".repeat(119));
        let a = numbered_name(&format!("receipt-{long}.csv"), 1);
        let b = numbered_name(&format!("receipt-{other}.csv"), 1);
        assert!(a.len() <= MAX_NAME_BYTES, "{}", a.len());
        assert!(a.ends_with(".csv") && a.starts_with("receipt-æ"), "{a}");
        assert_ne!(a, b);
        let second = numbered_name(&format!("receipt-{long}.csv"), 2);
        assert!(second.ends_with(".2.csv") && second.len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn nodes_claim_into_folders_and_lock_files_of_their_own() {
        let single = Workspace::new("/v");
        assert_eq!(single.work("nordlys"), Path::new("/v/work/nordlys"));
        assert_eq!(single.lock_file(), Path::new("/v/kravflyt.lock"));
        let node = Workspace::new("/v").for_node(Some("sftp-a"));
        assert_eq!(node.work("nordlys"), Path::new("/v/work/sftp-a/nordlys"));
        assert_eq!(node.lock_file(), Path::new("/v/kravflyt.sftp-a.lock"));
    }

    #[test]
    fn archive_folders_are_dated() {
        let ws = Workspace::new("/v");
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(
            ws.archive("nordlys", date),
            Path::new("/v/archive/nordlys/2026/03/01")
        );
    }
}
