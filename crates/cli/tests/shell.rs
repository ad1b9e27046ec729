//! `rehydrate completions SHELL` and `rehydrate man` (issue 15): generated from the clap
//! definitions, naming every command.

use std::process::{Command, Output};

fn rehydrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(args)
        .output()
        .unwrap()
}

const COMMANDS: [&str; 5] = ["inspect", "restore", "verify", "vss", "completions"];

#[test]
fn completion_scripts_generate_for_every_shell_and_bash_parses_its_own() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = rehydrate(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {o:?}");
        let script = String::from_utf8(o.stdout).unwrap();
        for c in COMMANDS {
            assert!(script.contains(c), "{shell}: {c} missing");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("rehydrate.bash");
            std::fs::write(&file, &script).unwrap();
            let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let o = rehydrate(&["completions", "tcsh"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_manual_page_is_roff_naming_every_command() {
    let o = rehydrate(&["man"]);
    assert!(o.status.success(), "{o:?}");
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH rehydrate 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for c in COMMANDS {
        assert!(
            page.contains(&format!("rehydrate\\-{c}")),
            "{c} missing:\n{page}"
        );
    }
}
