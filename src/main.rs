/// Counts heap use (for `pavseg bench fuzz`'s allocation limit); a plain pass-through to the
/// system allocator until the fuzz worker enables it.
#[global_allocator]
static ALLOCATOR: pavseg::fuzz::alloc::CountingAlloc = pavseg::fuzz::alloc::CountingAlloc;

fn main() -> std::process::ExitCode {
    pavseg::cli::main()
}
