//! The SHA-256 of the engine component built into the binary, computed here
//! once instead of at every start (it keys the compiled-engine cache).

fn main() {
    use sha2::Digest;
    let path = "engine/facets-engine.wasm";
    println!("cargo:rerun-if-changed={path}");
    let bytes = std::fs::read(path).expect("reading the engine component");
    println!("cargo:rustc-env=FACETS_ENGINE_SHA256={}", hex::encode(sha2::Sha256::digest(&bytes)));
    relative_relocations_packed();
}

/// Links the `facets` binary with its relative relocations packed (DT_RELR):
/// the dynamic loader then reads an 11 KB bitmap at start rather than 44,000
/// entries in 1 MB of `.rela.dyn` (the binary stays position-independent).
/// Only where the C library can load that (glibc 2.36 and later name
/// `GLIBC_ABI_DT_RELR`); an older linker ignores the option with a warning.
fn relative_relocations_packed() {
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
        && std::env::var("HOST") == std::env::var("TARGET");
    if !linux_gnu {
        return;
    }
    let libcs = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6", "/lib64/libc.so.6", "/usr/lib/libc.so.6"];
    let knows_relr = libcs.iter().find_map(|p| std::fs::read(p).ok()).is_some_and(|bytes| {
        let needle = b"GLIBC_ABI_DT_RELR";
        bytes.windows(needle.len()).any(|w| w == needle)
    });
    if knows_relr {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
