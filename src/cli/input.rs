//! Reading a ruleset file of any kind hwc understands: a `.hw` policy or an
//! `iptables-save` / `ip6tables-save` dump. The kind is detected from the
//! content (a dump starts with a table header such as `*filter`) unless
//! `--input` forces it.

use super::check::LoadFn;
use crate::diagnostics::Diagnostic;
use crate::import::{self, ImportOptions};
use crate::ir::{Family, Policy};
use crate::sema;
use crate::source::{FileLoader, SourceMap, Span};
use std::path::Path;

/// The `--input` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// An `iptables-save` dump (IPv4).
    #[value(name = "iptables-save")]
    IptablesSave,
    /// An `ip6tables-save` dump (IPv6).
    #[value(name = "ip6tables-save")]
    Ip6tablesSave,
    /// A `.hw` policy.
    #[value(name = "hw")]
    Hw,
}

/// The front end for a file: detect (`None`) or force the format. A plain
/// function, the loader type of `check`.
pub(crate) fn loader_for(format: Option<InputFormat>) -> LoadFn {
    match format {
        None => load_detected,
        Some(InputFormat::Hw) => sema::load,
        Some(InputFormat::IptablesSave) => load_v4_dump,
        Some(InputFormat::Ip6tablesSave) => load_v6_dump,
    }
}

fn load_detected(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Option<Policy>, Vec<Diagnostic>) {
    load(path, loader, sources, None)
}

fn load_v4_dump(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Option<Policy>, Vec<Diagnostic>) {
    load(path, loader, sources, Some(InputFormat::IptablesSave))
}

fn load_v6_dump(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> (Option<Policy>, Vec<Diagnostic>) {
    load(path, loader, sources, Some(InputFormat::Ip6tablesSave))
}

/// Whether a file is read as a dump (and then with which forced family).
fn dump_family(text: &str, format: Option<InputFormat>) -> Option<Option<Family>> {
    match format {
        Some(InputFormat::Hw) => None,
        Some(InputFormat::IptablesSave) => Some(Some(Family::V4)),
        Some(InputFormat::Ip6tablesSave) => Some(Some(Family::V6)),
        None if import::looks_like_dump(text) => Some(None),
        None => None,
    }
}

/// Loads a policy or a dump. I/O errors are `io` diagnostics at the start
/// of the file.
pub(crate) fn load(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
    format: Option<InputFormat>,
) -> (Option<Policy>, Vec<Diagnostic>) {
    let text = match read(path, loader, sources) {
        Ok(t) => t,
        Err(d) => return (None, vec![*d]),
    };
    match dump_family(&text, format) {
        None => sema::load_source(path, &text, loader, sources),
        Some(family) => read_dump(path, text, family, sources),
    }
}

/// Loads a dump whatever its content looks like (`hwc import`); `format`
/// forces the family.
pub(crate) fn load_dump(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
    format: Option<InputFormat>,
) -> (Option<Policy>, Vec<Diagnostic>) {
    let text = match read(path, loader, sources) {
        Ok(t) => t,
        Err(d) => return (None, vec![*d]),
    };
    let family = match format {
        Some(InputFormat::IptablesSave) => Some(Family::V4),
        Some(InputFormat::Ip6tablesSave) => Some(Family::V6),
        _ => None,
    };
    read_dump(path, text, family, sources)
}

fn read(
    path: &Path,
    loader: &dyn FileLoader,
    sources: &mut SourceMap,
) -> Result<String, Box<Diagnostic>> {
    loader.load(path).map_err(|e| {
        let file = sources.add(path, "");
        Box::new(
            Diagnostic::error(
                "io",
                format!(
                    "cannot read `{}`: {}",
                    crate::diagnostics::render::display_path(path),
                    super::check::io_reason(&e)
                ),
                Span::new(file, 0, 0),
            )
            .help("check the path and the file's permissions"),
        )
    })
}

fn read_dump(
    path: &Path,
    text: String,
    family: Option<Family>,
    sources: &mut SourceMap,
) -> (Option<Policy>, Vec<Diagnostic>) {
    let file = sources.add(path, text);
    let options = ImportOptions {
        family,
        name: path.file_stem().map(|s| s.to_string_lossy().into_owned()),
    };
    import::read_dump_with(file, &sources.get(file).text, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Origin;
    use crate::source::MemoryLoader;

    const DUMP: &str = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";

    fn run(text: &str, format: Option<InputFormat>) -> (Option<Policy>, Vec<Diagnostic>) {
        let loader = MemoryLoader::default().with("r.rules", text);
        load(Path::new("r.rules"), &loader, &mut SourceMap::new(), format)
    }

    #[test]
    fn format_comes_from_the_content_or_the_flag() {
        let (p, _) = run(DUMP, None);
        assert_eq!(p.map(|p| p.origin), Some(Origin::Dump(Family::V4)));
        let (p, _) = run(DUMP, Some(InputFormat::Ip6tablesSave));
        assert_eq!(p.map(|p| p.origin), Some(Origin::Dump(Family::V6)));
        let (p, d) = run(DUMP, Some(InputFormat::Hw));
        assert!(p.is_none() && d.iter().any(|d| d.code == "syntax"), "{d:?}");
        let (p, _) = run("chain input policy drop {}\n", None);
        assert_eq!(p.map(|p| p.origin), Some(Origin::Policy));
    }

    #[test]
    fn dump_policies_are_named_after_the_file() {
        let (p, _) = run(DUMP, None);
        assert_eq!(p.map(|p| p.name).as_deref(), Some("r"));
    }
}
