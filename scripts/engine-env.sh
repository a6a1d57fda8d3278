# Environment for building guest-js for wasm32-wasip1 with Debian's clang 14
# (see DESIGN.md, "Building the engine"). Sourced by scripts/build-engine.
export RQUICKJS_SYS_NO_WASI_SDK=1
export CC_wasm32_wasip1=clang-14
export AR_wasm32_wasip1=llvm-ar-14
export CFLAGS_wasm32_wasip1="--target=wasm32-wasi"
export BINDGEN_EXTRA_CLANG_ARGS_wasm32_wasip1="--target=wasm32-wasi"
