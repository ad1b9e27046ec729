//! The README matches the tool: every `rehydrate …` command line the README shows as an
//! example (its indented code blocks) names commands that exist, and every flag it uses is in
//! that command's `--help`. Windows-only forms (`restore --in-place`, `compare`) are not built
//! on other hosts and are checked only there.

use std::process::Command;

fn help(path: &[&str]) -> Option<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_rehydrate"))
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The subcommand names a `--help` lists under "Commands:".
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Each example command line of the README, continuation lines joined.
fn examples(readme: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in readme.lines() {
        // `    $ rehydrate …` is a command shown with its output (see readme_failures.rs).
        if let Some(cmd) = line
            .strip_prefix("    rehydrate ")
            .or_else(|| line.strip_prefix("    $ rehydrate "))
        {
            out.push(cmd.trim_end_matches('\\').to_owned());
            open = true;
        } else if open && line.starts_with("        ") {
            let last = out.last_mut().expect("open implies one");
            last.push(' ');
            last.push_str(line.trim().trim_end_matches('\\'));
        } else {
            open = false;
        }
    }
    out
}

fn windows_only(cmd: &str) -> bool {
    cmd.starts_with("compare ") || cmd.contains("--in-place")
}

#[test]
fn every_command_and_flag_the_readme_shows_exists_in_help() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let lines = examples(&readme);
    assert!(lines.len() >= 10, "too few examples found: {lines:?}");
    let mut problems = Vec::new();
    for cmd in lines.iter().filter(|c| !windows_only(c)) {
        let tokens: Vec<&str> = cmd.split_whitespace().collect();
        let mut path: Vec<&str> = Vec::new();
        let mut text = help(&[]).expect("top-level help");
        for t in &tokens {
            if subcommands(&text).iter().any(|s| s == t) {
                path.push(t);
                text = help(&path).unwrap_or_default();
            } else {
                break;
            }
        }
        if path.is_empty() {
            problems.push(format!("`rehydrate {cmd}`: no such command"));
            continue;
        }
        for t in &tokens[path.len()..] {
            let t = t.trim_start_matches('[').trim_end_matches([']', '…', '.']);
            let flag = t.split(['=', '[', ']']).next().unwrap_or_default();
            let is_flag = (flag.starts_with("--") && flag.len() > 2)
                || (flag.len() == 2 && flag.starts_with('-') && flag != "--");
            if is_flag
                && !text
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                    .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
            {
                problems.push(format!(
                    "`rehydrate {}`: {flag} is not in its --help",
                    path.join(" ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "README out of date:\n{}",
        problems.join("\n")
    );
}

/// Every command (each leaf of the command tree) has examples and its exit codes in `--help`,
/// and each example's flags are that command's.
#[test]
fn every_command_help_has_examples_and_exit_codes() {
    let mut leaves: Vec<Vec<String>> = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args).unwrap_or_else(|| panic!("rehydrate {path:?} --help failed"));
        let subs: Vec<String> = subcommands(&text)
            .into_iter()
            .filter(|s| s != "help")
            .collect();
        if subs.is_empty() {
            leaves.push(path);
        } else {
            todo.extend(subs.into_iter().map(|s| {
                let mut p = path.clone();
                p.push(s);
                p
            }));
        }
    }
    assert!(leaves.len() >= 12, "{leaves:?}");
    let mut problems = Vec::new();
    for path in &leaves {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args).unwrap();
        let name = path.join(" ");
        if !text.contains(&format!("Examples:\n  rehydrate {name}")) {
            problems.push(format!("rehydrate {name}: no example"));
        }
        if !text.contains("\nExit codes: 0 ") {
            problems.push(format!("rehydrate {name}: no exit codes"));
        }
        let examples = text
            .lines()
            .skip_while(|l| !l.starts_with("Examples:"))
            .take_while(|l| !l.starts_with("Exit codes:"))
            .flat_map(str::split_whitespace);
        for t in examples {
            let flag = t.split('=').next().unwrap_or_default();
            if flag.starts_with("--")
                && flag.len() > 2
                && !text
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .any(|w| w == flag)
            {
                problems.push(format!(
                    "rehydrate {name}: example flag {flag} is not an option"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
