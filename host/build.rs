//! The SHA-256 of the engine component built into the binary, computed here
//! once instead of at every start (it keys the compiled-engine cache).

fn main() {
    use sha2::Digest;
    let path = "engine/facets-engine.wasm";
    println!("cargo:rerun-if-changed={path}");
    let bytes = std::fs::read(path).expect("reading the engine component");
    println!("cargo:rustc-env=FACETS_ENGINE_SHA256={}", hex::encode(sha2::Sha256::digest(&bytes)));
}
