//! The `mmrun` binary: parse, dispatch, exit with a documented code (see `exit_codes`).

fn main() {
    std::process::exit(mmrun::cli::main());
}
