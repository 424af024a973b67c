fn main() -> std::process::ExitCode {
    hwc::cli::run().into()
}
