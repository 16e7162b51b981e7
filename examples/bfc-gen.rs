//! Writes bfc's man page and shell completions, made from the same clap
//! definition the command parses with (`bfc::cli`), into a directory:
//!
//! ```sh
//! cargo run --release --example bfc-gen -- DIR
//! ```
//!
//! DIR/bfc.1 (man), DIR/bfc.bash, DIR/_bfc (zsh), DIR/bfc.fish. `make
//! install` runs it; it is an example, not a binary, so `cargo install`
//! does not install it.

use std::path::PathBuf;

use clap_complete::Shell;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| {
        eprintln!("usage: bfc-gen DIR");
        std::process::exit(2);
    }));
    std::fs::create_dir_all(&dir)?;
    let mut man = Vec::new();
    clap_mangen::Man::new(bfc::cli::command()).render(&mut man)?;
    std::fs::write(dir.join("bfc.1"), man)?;
    for (shell, name) in [(Shell::Bash, "bfc.bash"), (Shell::Zsh, "_bfc"), (Shell::Fish, "bfc.fish")] {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut bfc::cli::command(), "bfc", &mut text);
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}
