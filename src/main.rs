//! Thin entry point: everything lives in the library so tests can drive each stage.

fn main() -> std::process::ExitCode {
    sisyphus_action::run::main()
}
