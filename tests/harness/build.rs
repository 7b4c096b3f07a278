//! Builds every guest component (test guests, examples, the benchmark guest) for
//! `wasm32-wasip2` into one shared target directory (`target/guests-checked`, with debug
//! assertions and overflow checks, for everything but `--release` builds of the harness;
//! `target/guests` for the benchmarks), composes the caller/callee pairs, and tells the
//! harness where the `.wasm` files are.
//!
//! The library's own build never runs this: only this dev-only crate does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const TARGET: &str = "wasm32-wasip2";

/// Composed components: (output name, socket = the caller, plug = the callee).
const COMPOSITIONS: &[(&str, &str, &str)] = &[("cancel", "guest-canceller", "guest-cancellee")];

fn main() {
    let harness = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = harness.join("../..").canonicalize().unwrap();
    for watched in [
        "src",
        "tests/guests",
        "tests/wit",
        "examples",
        "benches",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_target_installed();

    let guests = guest_packages(&root);
    // Tests (and everything else built without optimisation) run the guests with the
    // crate's debug assertions and overflow checks on; benchmarks run them as published.
    let checked = env::var("PROFILE").as_deref() != Ok("release");
    let target_dir = root
        .join("target")
        .join(if checked { "guests-checked" } else { "guests" });
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&root)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    if checked {
        build.args([
            "--config",
            "profile.release.debug-assertions=true",
            "--config",
            "profile.release.overflow-checks=true",
        ]);
    }
    for (name, _) in &guests {
        build.args(["-p", name]);
    }
    // The outer cargo's flags and wrappers (e.g. clippy's) are for the host build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        build.env_remove(var);
    }
    let status = build
        .status()
        .expect("failed to run cargo to build the guest components");
    assert!(
        status.success(),
        "building the guest components for {TARGET} failed"
    );

    let out = target_dir.join(TARGET).join("release");
    for (name, _) in &guests {
        let wasm = out.join(format!("{}.wasm", name.replace('-', "_")));
        assert!(wasm.exists(), "{} was not built", wasm.display());
    }
    for (composed, socket, plug) in COMPOSITIONS {
        let wasm = |name: &str| out.join(format!("{}.wasm", name.replace('-', "_")));
        let bytes = compose(&wasm(socket), &wasm(plug))
            .unwrap_or_else(|e| panic!("composing {socket} with {plug}: {e:?}"));
        fs::write(out.join(format!("composed_{composed}.wasm")), bytes).unwrap();
    }
    println!("cargo:rustc-env=WIT_FUTURES_GUEST_DIR={}", out.display());
}

/// Every crate under `tests/guests/`, `examples/` and `benches/` with a `[lib]` of
/// `crate-type = ["cdylib"]` is a guest component.
fn guest_packages(root: &Path) -> Vec<(String, PathBuf)> {
    let mut guests = Vec::new();
    for parent in ["tests/guests", "examples", "benches"] {
        let Ok(entries) = fs::read_dir(root.join(parent)) else {
            continue;
        };
        for entry in entries {
            let manifest = entry.unwrap().path().join("Cargo.toml");
            let Ok(text) = fs::read_to_string(&manifest) else {
                continue;
            };
            if !text.contains("cdylib") {
                continue;
            }
            let name = text
                .lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .and_then(|l| l.strip_suffix('"'))
                .unwrap_or_else(|| panic!("no package name in {}", manifest.display()));
            guests.push((name.to_string(), manifest));
        }
    }
    guests.sort();
    guests
}

/// Adds the wasm32-wasip2 target through rustup if it is missing, or fails saying how to.
fn ensure_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("failed to run rustc --print sysroot");
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout).unwrap().trim());
    if sysroot.join("lib/rustlib").join(TARGET).exists() {
        return;
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        add.args(["--toolchain", &toolchain]);
    }
    let added = add.status().map(|s| s.success()).unwrap_or(false);
    assert!(
        added && sysroot.join("lib/rustlib").join(TARGET).exists(),
        "the {TARGET} target is missing; run: rustup target add {TARGET}"
    );
}

/// Plugs the callee's exports into the caller's imports (what `wac plug` does).
fn compose(socket: &Path, plug: &Path) -> anyhow::Result<Vec<u8>> {
    use wac_graph::types::Package;
    use wac_graph::{CompositionGraph, EncodeOptions};

    let mut graph = CompositionGraph::new();
    let socket = Package::from_file("wit-futures:socket", None, socket, graph.types_mut())?;
    let socket = graph.register_package(socket)?;
    let plug = Package::from_file("wit-futures:plug", None, plug, graph.types_mut())?;
    let plug = graph.register_package(plug)?;
    wac_graph::plug(&mut graph, vec![plug], socket)?;
    Ok(graph.encode(EncodeOptions::default())?)
}
