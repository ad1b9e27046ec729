//! `rehydrate completions SHELL` and `rehydrate man`: a shell's completion script and the
//! manual page, both generated from the command's own clap definitions (`clap_complete`,
//! `clap_mangen`, maintained with clap itself), so they always match `--help`.

use clap::Args;

use crate::Failure;

/// `rehydrate completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for. Install, e.g. for bash:
    /// `rehydrate completions bash > ~/.local/share/bash-completion/completions/rehydrate`.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// Prints the completion script of `args.shell` for `cmd`.
pub(crate) fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "rehydrate", &mut script);
    print_bytes(&script)
}

/// Prints the manual page (roff) of `cmd`: `rehydrate man > rehydrate.1; man ./rehydrate.1`.
pub(crate) fn man(cmd: clap::Command) -> Result<(), Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| Failure::usage(format!("cannot render the manual page: {e}")))?;
    print_bytes(&page)
}

fn print_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Failure::usage(format!("generated text is not UTF-8: {e}")))?;
    crate::out!("{text}");
    Ok(())
}
