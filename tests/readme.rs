//! The README's command-line synopsis (the first `text` block after "## Command line") kept
//! true: every subcommand `deeper --help` lists has a line there, and the flags written for
//! each (and for the main job) are exactly the flags its `--help` prints. A flag added to the
//! CLI and not to the README, or one the README promises and the CLI lacks, fails here.
//! (The README's Rust and C examples are compiled by the doc-tests and `c_programs.rs`.)

use std::collections::BTreeSet;
use std::process::Command;

/// `deeper <args> --help`'s standard output.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_deeper"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "deeper {args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of `help`'s section `title` ("Commands:", "Options:"), up to the blank line.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// The long flags a `--help` declares (the first `--name` of each option line), without
/// `--help` and `--version`, which every command has.
fn declared(help: &str) -> BTreeSet<String> {
    section(help, "Options:")
        .iter()
        .filter(|l| l.trim_start().starts_with('-'))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches(',').to_string())
        .filter(|f| f != "--help" && f != "--version")
        .collect()
}

/// Every `--name` written in `text`.
fn written(text: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("--") {
        let name: String = rest[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if !name.is_empty() {
            flags.insert(format!("--{name}"));
        }
        rest = &rest[i + 2 + name.len()..];
    }
    flags
}

/// The README's synopsis block.
fn synopsis() -> String {
    let readme = include_str!("../README.md");
    let after = readme
        .split_once("\n## Command line\n")
        .expect("README has a '## Command line' section")
        .1;
    let block = after
        .split_once("```text\n")
        .expect("a text block in '## Command line'")
        .1;
    block
        .split_once("```")
        .expect("the block ends")
        .0
        .to_string()
}

/// The synopsis entries of the command `path` (`[]`: the main job, `deeper` alone; `["bench",
/// "conv"]`: a nested subcommand): each line that starts with `deeper <path…>` and whose next
/// word is none of `subs` (the path's own subcommands), with the indented lines that continue it.
fn entries(synopsis: &str, path: &[&str], subs: &[String]) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in synopsis.lines() {
        if let Some(rest) = line.strip_prefix("deeper") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            inside = words.len() >= path.len()
                && words[..path.len()] == *path
                && !words
                    .get(path.len())
                    .is_some_and(|w| subs.iter().any(|s| s == w));
        } else if !line.starts_with(' ') {
            inside = false;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The subcommands a `--help` lists (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    section(help, "Commands:")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

#[test]
fn readme_synopsis_has_every_flag_of_every_command() {
    let main = help(&[]);
    let commands = subcommands(&main);
    assert!(commands.len() >= 5, "commands: {commands:?}");
    let synopsis = synopsis();
    let mut problems = Vec::new();
    let main_entry = entries(&synopsis, &[], &commands);
    assert!(
        !main_entry.is_empty(),
        "no line for the main job:\n{synopsis}"
    );
    let mut checked = vec![(String::from("deeper"), main_entry, declared(&main))];
    let mut nested = 0;
    for c in &commands {
        let c_help = help(&[c]);
        let subs = subcommands(&c_help);
        let mut paths = vec![(vec![c.as_str()], subs.clone(), c_help)];
        for s in &subs {
            paths.push((vec![c.as_str(), s.as_str()], Vec::new(), help(&[c, s])));
            nested += 1;
        }
        for (path, subs, h) in paths {
            let what = format!("deeper {}", path.join(" "));
            let entry = entries(&synopsis, &path, &subs);
            if entry.is_empty() {
                problems.push(format!("no synopsis line for `{what}`"));
            }
            checked.push((what, entry, declared(&h)));
        }
    }
    assert!(
        nested >= 3,
        "bench conv|pool|linear: {nested} nested subcommands"
    );
    for (what, entry, flags) in &checked {
        let shown = written(entry);
        for f in flags.difference(&shown) {
            problems.push(format!(
                "{what}: {f} is in --help, not in the README's synopsis"
            ));
        }
        for f in shown.difference(flags) {
            problems.push(format!(
                "{what}: {f} is in the README's synopsis, not in --help"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks above can fail: a flag removed from a synopsis line is missed, a flag invented
/// is refused.
#[test]
fn the_synopsis_check_sees_missing_and_invented_flags() {
    let commands = vec!["run".to_string(), "info".to_string(), "bench".to_string()];
    let text = "deeper [--autotune]\ndeeper run <net> [--top K]\n       [--json]\n\
                deeper info <net>\ndeeper bench <net> [--runs R]\ndeeper bench conv --in C\n";
    assert_eq!(entries(text, &[], &commands), "deeper [--autotune]\n");
    let run = entries(text, &["run"], &[]);
    assert_eq!(
        written(&run),
        BTreeSet::from(["--top".to_string(), "--json".to_string()])
    );
    let help = "Options:\n      --top <TOP>  How many (with --json)\n  -h, --help  Print help\n\n";
    assert_eq!(declared(help), BTreeSet::from(["--top".to_string()]));
    assert!(written(&entries(text, &["info"], &[])).is_empty());
    let bench_subs = vec!["conv".to_string()];
    let bench = written(&entries(text, &["bench"], &bench_subs));
    assert_eq!(bench, BTreeSet::from(["--runs".to_string()]));
    let conv = written(&entries(text, &["bench", "conv"], &[]));
    assert_eq!(conv, BTreeSet::from(["--in".to_string()]));
}
