//! `hwc compile FILE --target iptables|nftables [-o DIR]`.
//!
//! Without `-o` the generated text goes to stdout (for iptables, the IPv4
//! text and then the IPv6 text, each starting with its own header comment).
//! With `-o DIR` every text goes to its own file, named after the policy
//! file's stem: `STEM.ipt4` (`iptables-restore` input), `STEM.ipt6`
//! (`ip6tables-restore` input) or `STEM.nft` (`nft -f` script). A failed
//! compile writes nothing, and each file appears whole or not at all: it is
//! written to a temporary file in DIR and renamed over the old one.

use crate::backend::{Artifact, Target};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file names a compile into `dir` writes, for a policy file `file`.
pub fn artifact_path(dir: &Path, file: &Path, artifact: &Artifact) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy".to_string());
    dir.join(format!("{stem}.{}", artifact.suffix))
}

/// Writes every artifact into `dir` atomically (temporary file, fsync,
/// rename). Either all files are written, or an error is returned and the
/// temporary files are removed; files already renamed stay (each one is
/// whole).
pub fn write_artifacts(
    dir: &Path,
    file: &Path,
    artifacts: &[Artifact],
) -> std::io::Result<Vec<PathBuf>> {
    // Write every temporary file first, so that an error (disk full) leaves
    // the old files in place.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for a in artifacts {
            let path = artifact_path(dir, file, a);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
            staged.push((tmp.clone(), path));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(a.text.as_bytes())?;
            f.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    let mut written = Vec::new();
    for (tmp, path) in staged {
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// The text printed on stdout when no output directory is given.
pub fn stdout_text(artifacts: &[Artifact]) -> String {
    artifacts.iter().map(|a| a.text.as_str()).collect()
}

/// The target names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetArg {
    Iptables,
    Nftables,
}

impl From<TargetArg> for Target {
    fn from(t: TargetArg) -> Target {
        match t {
            TargetArg::Iptables => Target::Iptables,
            TargetArg::Nftables => Target::Nftables,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(suffix: &'static str, text: &str) -> Artifact {
        Artifact {
            suffix,
            text: text.into(),
        }
    }

    #[test]
    fn writes_whole_files_named_after_the_stem() {
        let dir = std::env::temp_dir().join(format!("hwc-compile-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arts = [
            art("ipt4", "*filter\nCOMMIT\n"),
            art("ipt6", "*filter\nCOMMIT\n"),
        ];
        let written = write_artifacts(&dir, Path::new("/x/web.hw"), &arts).unwrap();
        assert_eq!(written, vec![dir.join("web.ipt4"), dir.join("web.ipt6")]);
        assert_eq!(
            std::fs::read_to_string(dir.join("web.ipt6")).unwrap(),
            "*filter\nCOMMIT\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("hwc-compile-missing-{}", std::process::id()));
        let arts = [art("nft", "table inet hwc {}\n")];
        assert!(write_artifacts(&dir, Path::new("p.hw"), &arts).is_err());
        assert!(!dir.exists());
    }
}
