fn main() -> std::process::ExitCode {
    pavseg::cli::main()
}
