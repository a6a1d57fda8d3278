//! The app artifact written by `facets compile`: a small Wasm module that
//! carries the QuickJS bytecode of one ES module.
//!
//! Layout (Javy's dynamic-linking shape): it imports `cabi_realloc`, `invoke`
//! and `memory` from the engine's import namespace, keeps the bytecode in a
//! passive data segment, and its `_start` copies the bytecode into the
//! engine's memory and calls `invoke`. A custom section `facets-artifact`
//! records the format, the engine's hash and the source's hash, so that a
//! bytecode/engine mismatch is a clear error instead of undefined behaviour.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasm_encoder::{
    CodeSection, CustomSection, DataCountSection, DataSection, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, ImportSection, Instruction, MemoryType, Module, TypeSection, ValType,
};

/// The import namespace of the engine (`guest-js`'s `import_namespace!`).
pub const IMPORT_NAMESPACE: &str = "facets-engine-v1";
const SECTION: &str = "facets-artifact";
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ArtifactInfo {
    pub format: u32,
    /// sha256 of the engine component the bytecode was compiled by.
    pub engine: String,
    /// sha256 of the JS source.
    pub source: String,
    /// The module name kept in the bytecode.
    pub module: String,
}

pub fn engine_hash(engine_component: &[u8]) -> String {
    hex::encode(Sha256::digest(engine_component))
}

/// Builds the artifact module around `bytecode`.
pub fn write(bytecode: &[u8], info: &ArtifactInfo) -> Vec<u8> {
    let len = bytecode.len() as i32;
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32; 4], [ValType::I32]); // cabi_realloc
    types.ty().function([ValType::I32; 5], []); // invoke
    types.ty().function([], []); // _start
    module.section(&types);

    let mut imports = ImportSection::new();
    imports.import(IMPORT_NAMESPACE, "cabi_realloc", EntityType::Function(0));
    imports.import(IMPORT_NAMESPACE, "invoke", EntityType::Function(1));
    imports.import(
        IMPORT_NAMESPACE,
        "memory",
        EntityType::Memory(MemoryType { minimum: 0, maximum: None, memory64: false, shared: false, page_size_log2: None }),
    );
    module.section(&imports);

    let mut functions = FunctionSection::new();
    functions.function(2);
    module.section(&functions);

    let mut exports = ExportSection::new();
    exports.export("_start", ExportKind::Func, 2);
    module.section(&exports);

    module.section(&DataCountSection { count: 1 });

    let mut code = CodeSection::new();
    let mut start = Function::new([(1, ValType::I32)]);
    start
        .instruction(&Instruction::I32Const(0))
        .instruction(&Instruction::I32Const(0))
        .instruction(&Instruction::I32Const(1))
        .instruction(&Instruction::I32Const(len))
        .instruction(&Instruction::Call(0))
        .instruction(&Instruction::LocalTee(0))
        .instruction(&Instruction::I32Const(0))
        .instruction(&Instruction::I32Const(len))
        .instruction(&Instruction::MemoryInit { mem: 0, data_index: 0 })
        .instruction(&Instruction::DataDrop(0))
        .instruction(&Instruction::LocalGet(0))
        .instruction(&Instruction::I32Const(len))
        .instruction(&Instruction::I32Const(0))
        .instruction(&Instruction::I32Const(0))
        .instruction(&Instruction::I32Const(0))
        .instruction(&Instruction::Call(1))
        .instruction(&Instruction::End);
    code.function(&start);
    module.section(&code);

    let mut data = DataSection::new();
    data.passive(bytecode.iter().copied());
    module.section(&data);

    let json = serde_json::to_vec(info).expect("artifact info serializes");
    module.section(&CustomSection { name: SECTION.into(), data: json.into() });
    module.finish()
}

/// Reads an artifact back: its info and its bytecode.
pub fn read(wasm: &[u8]) -> Result<(ArtifactInfo, Vec<u8>)> {
    let mut info = None;
    let mut bytecode = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.context("not a valid Wasm module")? {
            wasmparser::Payload::CustomSection(s) if s.name() == SECTION => {
                info = Some(serde_json::from_slice::<ArtifactInfo>(s.data()).context("malformed facets-artifact section")?);
            }
            wasmparser::Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    if bytecode.is_none() {
                        bytecode = Some(data.data.to_vec());
                    }
                }
            }
            _ => {}
        }
    }
    let Some(info) = info else { bail!("not a facets app artifact (no {SECTION} section); compile it with `facets compile`") };
    if info.format != FORMAT {
        bail!("artifact format {} is not supported (this facets reads format {FORMAT})", info.format);
    }
    let bytecode = bytecode.context("the artifact has no bytecode")?;
    Ok((info, bytecode))
}

/// Checks that an artifact was compiled by `engine_component`.
pub fn check_engine(info: &ArtifactInfo, engine_component: &[u8]) -> Result<()> {
    let current = engine_hash(engine_component);
    if info.engine != current {
        bail!(
            "the artifact was compiled by engine {} but this facets runs engine {}: recompile it with `facets compile`",
            &info.engine[..12.min(info.engine.len())],
            &current[..12]
        );
    }
    Ok(())
}
