//! Turns the guest engine's core module (`guest-js`, built for wasm32-wasip1)
//! into the engine component the host loads:
//!
//! 1. pre-initializes it with Wizer (Javy's `initialize-runtime`: QuickJS and
//!    the JS runtime are set up once, at build time, and snapshotted);
//! 2. embeds the full `engine` world (the engine's own imports/exports plus
//!    Javy's `compile-src`);
//! 3. wraps it as a component with the WASI preview1 reactor adapter.
//!
//! Usage: `build-engine CORE.wasm WIT_DIR OUT.wasm`

use anyhow::{Context, Result, bail};
use wasmtime::{Config, Engine, Linker, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [core, wit_dir, out] = args.as_slice() else {
        bail!("usage: build-engine CORE.wasm WIT_DIR OUT.wasm");
    };
    let wasm = std::fs::read(core).with_context(|| format!("reading {core}"))?;

    let initialized = preinitialize(&wasm).await.context("pre-initializing the engine with wizer")?;

    let mut module = initialized;
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(wit_dir).with_context(|| format!("reading WIT from {wit_dir}"))?;
    let world = resolve.select_world(&[pkg], Some("engine"))?;
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8)?;

    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
        .context("encoding the engine component")?;
    std::fs::write(out, &component).with_context(|| format!("writing {out}"))?;
    eprintln!(
        "build-engine: core {} bytes -> pre-initialized {} bytes -> component {} bytes",
        wasm.len(),
        module.len(),
        component.len()
    );
    Ok(())
}

async fn preinitialize(wasm: &[u8]) -> Result<Vec<u8>> {
    let engine = Engine::new(&Config::new())?;
    // Pre-initialization sees no files, no environment and no arguments.
    let wasi = WasiCtxBuilder::new().inherit_stderr().build_p1();
    let mut store: Store<WasiP1Ctx> = Store::new(&engine, wasi);
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func("initialize-runtime");
    let snapshot = wizer
        .run(&mut store, wasm, async |store, module| {
            let mut linker: Linker<WasiP1Ctx> = Linker::new(store.engine());
            wasmtime_wasi::p1::add_to_linker_async(&mut linker, |cx| cx)?;
            // Host imports cannot run at build time; calling one traps.
            linker.define_unknown_imports_as_traps(module)?;
            linker.instantiate_async(store, module).await
        })
        .await?;
    Ok(snapshot)
}
