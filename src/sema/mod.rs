//! Names, includes and types: AST → IR.
// TEMP-LOCAL (not committed)
pub fn load(
    path: &std::path::Path,
    loader: &dyn crate::source::FileLoader,
    sources: &mut crate::source::SourceMap,
) -> (
    Option<crate::ir::Policy>,
    Vec<crate::diagnostics::Diagnostic>,
) {
    let text = loader.load(path).unwrap_or_default();
    let f = sources.add(path, text.clone());
    let (_ast, d) = crate::syntax::parse(f, &text);
    (None, d)
}
