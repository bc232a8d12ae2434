//! The engine's component boundaries, checked on its source: components
//! (orders, venue, account, portfolio, risk, rules, market, config, sizing)
//! never depend on the kernel, their dependencies form no cycle, only the
//! kernel implements `Engine`, and the account, risk and rules components
//! do not even name it (their logic takes the state it needs as arguments).
//! Inside the kernel only the files that still sequence a component's steps
//! implement `Engine`; the account, risk and rules logic that moved out of
//! it cannot come back.
//!
//! A dependency is any path through `crate::` (`crate::a::b`, grouped
//! `crate::{a, b::c}`, and the aliases `lib.rs` re-exports, such as
//! `crate::engine` for the kernel) or through `super::` out of a component.
//! Comments are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` without `//` comments (line and doc comments).
fn code_of(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Leading names of the items of a `{...}` group starting right after `{`.
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident(s[start..i].trim()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident(s[start..i].trim()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads.into_iter().filter(|h| !h.is_empty()).collect()
}

/// Names `lib.rs` re-exports, mapped to the component they come from
/// (`pub use kernel as engine` -> engine: kernel; `pub use venue::sim::{costs, liquidity as execution}`
/// -> costs, execution: venue).
fn aliases(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for stmt in code_of(lib).split(';') {
        let Some(path) = stmt.trim().strip_prefix("pub use ") else { continue };
        let path = path.trim().trim_start_matches("crate::");
        let root = ident(path);
        let leaves: Vec<&str> = match (path.find('{'), path.rfind('}')) {
            (Some(a), Some(b)) => path[a + 1..b].split(',').collect(),
            _ => vec![path.rsplit("::").next().unwrap_or(path)],
        };
        for leaf in leaves {
            let name = leaf.rsplit(" as ").next().unwrap().trim();
            let name = ident(name.rsplit("::").next().unwrap_or(name));
            if !name.is_empty() && name != root {
                map.insert(name, root.clone());
            }
        }
    }
    map
}

/// Whether `code` (comments removed) has a line `impl ... Engine ...`.
fn implements_engine(code: &str) -> bool {
    code.lines().any(|l| {
        let words: Vec<&str> = l.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        words.first() == Some(&"impl") && words.contains(&"Engine")
    })
}

/// Whether `code` (comments removed) names the `Engine` type at all.
fn names_engine(code: &str) -> bool {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == "Engine")
}

/// The component graph and the components that implement `Engine`, from
/// (component, source) pairs and `lib.rs`'s aliases.
fn analyze(files: &[(String, String)], lib: &str) -> (Graph, BTreeSet<String>) {
    let aliases = aliases(lib);
    let resolve = |name: &str| aliases.get(name).cloned().unwrap_or_else(|| name.to_string());
    let mut graph = Graph::new();
    let mut impls = BTreeSet::new();
    for (component, text) in files {
        let code = code_of(text);
        let deps = graph.entry(component.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + 7..];
            let names = match rest.strip_prefix('{') {
                Some(group) => group_heads(group),
                None => vec![ident(rest)],
            };
            for name in names {
                let target = resolve(&name);
                if target != *component && !target.is_empty() {
                    deps.insert(target);
                }
            }
        }
        // `super::super::x` from inside a component reaches the crate root.
        for (i, _) in code.match_indices("super::super::") {
            let name = ident(&code[i + 14..]);
            let target = resolve(&name);
            if !name.is_empty() && target != *component {
                deps.insert(target);
            }
        }
        if implements_engine(&code) {
            impls.insert(component.clone());
        }
    }
    (graph, impls)
}

/// Every source file under `src/`: (path relative to it, with `/`, text).
fn source_files() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    paths.into_iter().map(|path| {
        let rel = path.strip_prefix(&src).unwrap().components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
        let text = std::fs::read_to_string(&path).unwrap();
        (rel, text)
    }).collect()
}

fn engine_sources() -> (Vec<(String, String)>, String) {
    let mut files = Vec::new();
    let mut lib = String::new();
    for (rel, text) in source_files() {
        let component = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        if component == "lib" {
            lib = text;
        } else {
            files.push((component, text));
        }
    }
    (files, lib)
}

/// The kernel files that may implement `Engine`, one concern each: the bar
/// sequence and public API (mod.rs), the simulated venue's steps it runs
/// (matching, execution, immediate fills, rebalancing passes), the orders
/// it sends itself (exits.rs: rule exits, limit cuts, margin calls), an
/// external venue's reports and a standalone broker's hand-driven steps,
/// the scheduled cash events it applies as a bar opens, undoing a failed
/// strategy callback (savepoint.rs) and changing a live engine's settings
/// (settings.rs). A new concern of the kernel may get a file here; a
/// component never.
const KERNEL_FILES_IMPLEMENTING_ENGINE: [&str; 11] = [
    "kernel/mod.rs",
    "kernel/cash_events.rs",
    "kernel/execute.rs",
    "kernel/exits.rs",
    "kernel/external.rs",
    "kernel/immediate.rs",
    "kernel/matching.rs",
    "kernel/rebalance.rs",
    "kernel/savepoint.rs",
    "kernel/settings.rs",
    "kernel/stepped.rs",
];

/// Components whose logic takes the state it needs as arguments: they never
/// name `Engine`.
const COMPONENTS_WITHOUT_ENGINE: [&str; 3] = ["account", "risk", "rules"];

/// Files among `files` (path, text) that break the two rules above:
/// implementing `Engine` outside the allowed kernel files, or naming it in
/// one of `COMPONENTS_WITHOUT_ENGINE`.
fn engine_violations(files: &[(String, String)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (path, text) in files {
        let code = code_of(text);
        let component = path.split('/').next().unwrap().trim_end_matches(".rs");
        if implements_engine(&code) && !KERNEL_FILES_IMPLEMENTING_ENGINE.contains(&path.as_str()) {
            bad.push(format!("{path} implements Engine"));
        } else if COMPONENTS_WITHOUT_ENGINE.contains(&component) && names_engine(&code) {
            bad.push(format!("{path} names Engine"));
        }
    }
    bad
}

/// A dependency cycle of `graph`, if it has one (depth-first search; a
/// node on the current path reached again closes a cycle).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(n: &str, graph: &Graph, done: &mut BTreeSet<String>, path: &mut Vec<String>) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in graph.get(n).into_iter().flatten() {
            if let Some(cycle) = visit(d, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

#[test]
fn components_never_depend_on_the_kernel() {
    let (files, lib) = engine_sources();
    let (graph, _) = analyze(&files, &lib);
    for (component, deps) in &graph {
        if component != "kernel" {
            assert!(!deps.contains("kernel"), "{component} depends on the kernel: {deps:?}");
        }
    }
}

#[test]
fn component_dependencies_form_no_cycle() {
    let (files, lib) = engine_sources();
    let (graph, _) = analyze(&files, &lib);
    assert_eq!(find_cycle(&graph), None, "component graph: {graph:?}");
}

#[test]
fn only_the_kernel_implements_engine() {
    let (files, lib) = engine_sources();
    let (_, impls) = analyze(&files, &lib);
    assert_eq!(impls.into_iter().collect::<Vec<_>>(), ["kernel"]);
}

#[test]
fn engine_is_implemented_only_where_allowed_and_named_by_no_state_component() {
    assert_eq!(engine_violations(&source_files()), Vec::<String>::new());
}

#[test]
fn a_kernel_file_or_component_that_takes_engine_back_is_caught() {
    let file = |p: &str, t: &str| (p.to_string(), t.to_string());
    let files = [
        file("kernel/mod.rs", "impl Engine { fn step(&mut self) {} }"),
        file("kernel/locked_cash.rs", "impl Engine { fn reversal_cash(&self) {} }"),
        file("account/margin.rs", "fn buying_power(e: &crate::Engine) -> f64 { 0.0 }"),
        file("risk/prechecks.rs", "use crate::kernel::Engine as E;"),
        file("rules/evaluation.rs", "// impl Engine: the rules used to run here\nfn f() {}"),
        file("portfolio/mod.rs", "fn engine_free() {}"),
    ];
    assert_eq!(engine_violations(&files), [
        "kernel/locked_cash.rs implements Engine",
        "account/margin.rs names Engine",
        "risk/prechecks.rs names Engine",
    ]);
}

#[test]
fn the_checks_see_aliases_groups_and_impls_and_ignore_comments() {
    let lib = "pub use kernel as engine;\npub use venue::sim::{costs, liquidity as execution};\npub use kernel::Engine;";
    let file = |c: &str, t: &str| (c.to_string(), t.to_string());
    let files = [
        file("account", "use crate::engine::Engine;"),
        file("risk", "use crate::{portfolio::Portfolio, execution::X};\n// use crate::kernel::Engine;"),
        file("rules", "impl<'a> Trait for crate::Engine {}"),
        file("market", "fn f() { super::super::costs::g() }"),
        file("orders", "impl EngineConfig {} // impl Engine"),
    ];
    let (graph, impls) = analyze(&files, lib);
    assert!(graph["account"].contains("kernel"), "alias crate::engine");
    assert_eq!(graph["risk"], BTreeSet::from(["portfolio".to_string(), "venue".to_string()]), "group, alias, comment");
    assert!(graph["rules"].contains("kernel"), "crate::Engine");
    assert!(graph["market"].contains("venue"), "super::super");
    assert!(graph["orders"].is_empty());
    assert_eq!(impls, BTreeSet::from(["rules".to_string()]));
}

#[test]
fn a_cycle_through_three_components_is_found() {
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into()).or_default().insert(b.into());
    };
    let mut g = Graph::new();
    edge(&mut g, "venue", "market");
    edge(&mut g, "account", "portfolio");
    edge(&mut g, "portfolio", "risk");
    assert_eq!(find_cycle(&g), None);
    edge(&mut g, "risk", "account");
    assert_eq!(find_cycle(&g).unwrap(), ["account", "portfolio", "risk", "account"]);
}
