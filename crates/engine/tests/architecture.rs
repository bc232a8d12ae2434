//! The engine's component boundaries, checked on its source: components
//! (orders, venue, account, portfolio, risk, rules, market, config) never
//! depend on the kernel, their dependencies form no cycle, and only the
//! kernel implements `Engine`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// component -> components its files name as `crate::<component>`.
fn component_graph() -> (BTreeMap<String, BTreeSet<String>>, Vec<(String, PathBuf)>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut impls = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let component = first.trim_end_matches(".rs").to_string();
        if component == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let deps = graph.entry(component.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let name: String =
                text[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() && name != component {
                deps.insert(name);
            }
        }
        if text.lines().any(|l| l.starts_with("impl Engine {") || l.starts_with("impl Engine<")) {
            impls.push((component, rel.to_path_buf()));
        }
    }
    (graph, impls)
}

#[test]
fn components_never_depend_on_the_kernel() {
    let (graph, _) = component_graph();
    for (component, deps) in &graph {
        if component != "kernel" {
            assert!(!deps.contains("kernel"), "{component} depends on the kernel: {deps:?}");
        }
    }
}

/// A dependency cycle of `graph`, if it has one (depth-first search; a
/// node on the current path reached again closes a cycle).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
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
fn component_dependencies_form_no_cycle() {
    let (graph, _) = component_graph();
    assert_eq!(find_cycle(&graph), None, "component graph: {graph:?}");
}

#[test]
fn only_the_kernel_implements_engine() {
    let (_, impls) = component_graph();
    let outside: Vec<_> = impls.iter().filter(|(c, _)| c != "kernel").collect();
    assert!(outside.is_empty(), "impl Engine outside crates/engine/src/kernel: {outside:?}");
}

#[test]
fn a_cycle_through_three_components_is_found() {
    let edge = |g: &mut BTreeMap<String, BTreeSet<String>>, a: &str, b: &str| {
        g.entry(a.into()).or_default().insert(b.into());
    };
    let mut g = BTreeMap::new();
    edge(&mut g, "venue", "market");
    edge(&mut g, "account", "portfolio");
    edge(&mut g, "portfolio", "risk");
    assert_eq!(find_cycle(&g), None);
    edge(&mut g, "risk", "account");
    assert_eq!(find_cycle(&g).unwrap(), ["account", "portfolio", "risk", "account"]);
}
