//! The pest parser generated from `grammar/hw.pest`. Private to `syntax`.

#[derive(pest_derive::Parser)]
#[grammar = "grammar/hw.pest"]
pub(super) struct HwParser;
