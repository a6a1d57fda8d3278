//! The engine's raw core exports that Javy's runtime and the component model
//! need, the Rust half's allocator, the heap preparation of
//! pre-initialization, and the job queue's tick marker. The other `unsafe` code is QuickJS's C API where rquickjs has
//! no safe equivalent: `clone.rs` (plain data to bytes and back) and
//! `classOf` in `bridge.rs`. Everything else is safe Rust on rquickjs.

/// Javy's pre-initialization entry point; Wizer calls it once, then snapshots memory.
#[unsafe(export_name = "initialize-runtime")]
pub extern "C" fn initialize_runtime() {
    javy_plugin_api::initialize_runtime(crate::config, crate::modify_runtime)
        .expect("javy runtime initializes");
    with_raw_context(|ctx| {
        // SAFETY: the engine's context, at pre-initialization, with no JS
        // running. JS_MakeImmortal reads properties, changes reference counts
        // and moves GC objects between the runtime's lists; the two others
        // set a flag of the context and a function pointer.
        unsafe {
            // Every JS value that initialization created becomes immortal:
            // QuickJS stops counting references to them, so running code only
            // reads the snapshot's objects, and their pages stay shared between
            // instances instead of being copied into each one on first use.
            // First it creates the properties QuickJS would create on first
            // use (built-in methods, ...), for the same reason.
            JS_MakeImmortal(ctx);
            // As in workerd, eval() and the Function constructors throw
            // EvalError ("Code generation from strings disallowed for this
            // context"). The engine compiles code through QuickJS's C API
            // (compile, module loading), which this does not affect.
            JS_SetCodeGenerationFromStrings(ctx, false);
            JS_SetDateClock(Some(date_clock));
        }
    });
    // The cache's blocks go back to libc first, for fill_heap_holes to take.
    // SAFETY: nothing holds a pointer to a cached block.
    unsafe { facets_tc_flush() };
    fill_heap_holes();
}

/// `Date.now()` and `new Date()` read the host's clock, as the runtime's own
/// time-keeping does (see wall-clock-ms in wit/io.wit): going through WASI
/// would set up WASI's state in every instance that asks for the date.
extern "C" fn date_clock() -> i64 {
    crate::bindings::facets::runtime::io::wall_clock_ms() as i64
}

type RawContext = *mut javy_plugin_api::javy::quickjs::qjs::JSContext;

/// Runs `f` with the engine's QuickJS context.
fn with_raw_context(f: impl FnOnce(RawContext)) {
    crate::CONTEXT.with(|c| {
        let context = c.borrow();
        let context = context.as_ref().expect("engine runtime is initialized");
        context.with(|ctx| f(ctx.as_raw().as_ptr()))
    });
}

unsafe extern "C" {
    /// Added to QuickJS by `guest-js/patches/quickjs-immortal.patch`.
    fn JS_MakeImmortal(ctx: RawContext);
    /// Added to QuickJS by `guest-js/patches/quickjs-no-codegen.patch`.
    fn JS_SetCodeGenerationFromStrings(ctx: RawContext, allowed: bool);
    /// Added to QuickJS by `guest-js/patches/quickjs-wall-clock.patch`.
    fn JS_SetDateClock(clock_ms: Option<extern "C" fn() -> i64>);
}

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
    // Added to QuickJS by `guest-js/patches/quickjs-wasi-tcache.patch`:
    // libc's allocator behind a cache of small freed blocks.
    fn facets_tc_malloc(size: usize) -> *mut u8;
    fn facets_tc_calloc(count: usize, size: usize) -> *mut u8;
    fn facets_tc_free(ptr: *mut u8);
    fn facets_tc_flush();
}

/// The engine's Rust allocates as QuickJS does, through the cache of small
/// freed blocks in front of libc's allocator (see the patch), so that the
/// strings and lists of every call between the host, Rust and JS skip
/// dlmalloc's bins too. Blocks are libc's: what the cache does not take goes
/// to `free`, and a block grows with `realloc`. Alignments above what
/// `malloc` guarantees go to `System` (libc's `aligned_alloc`).
struct Allocator;

/// What libc's `malloc` aligns every block to on wasm32 (as Rust's `System`
/// assumes there).
const MALLOC_ALIGN: usize = 8;

// SAFETY: every block comes from libc's allocator (directly or through the
// cache, which only hands out blocks big enough for the request, see the
// patch) and goes back to it the same way; alignments malloc cannot promise
// go to `System`.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: a libc-style malloc of a non-zero size.
            unsafe { facets_tc_malloc(layout.size()) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { std::alloc::System.alloc(layout) }
        }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: as `alloc`, zeroed.
            unsafe { facets_tc_calloc(1, layout.size()) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { std::alloc::System.alloc_zeroed(layout) }
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from `alloc` or `realloc` above with this alignment.
            unsafe { facets_tc_free(ptr) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` is a live libc block (see `alloc`); new_size is non-zero.
            unsafe { realloc(ptr, new_size) }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
        }
    }
}

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// Takes, for good, the free blocks that initialization left scattered through
/// the heap, so that an instance's allocations come from the heap's end.
///
/// Every instance starts from the snapshot. Had the blocks stayed free, the
/// allocator would place an instance's first objects in them, and each of the
/// pages they lie on would be copied for that instance (a copy-on-write fault,
/// and a private page). Taken, they stay part of the shared image.
///
/// For each size, halving from 64 KiB: allocate until three blocks in a row lie
/// end to end, which only the top of the heap (or a free block at least three
/// times as big, which the larger sizes already took) can give; those three go
/// back to the top.
fn fill_heap_holes() {
    let mut size = 64 << 10;
    while size >= 8 {
        let mut last = [0usize; 3];
        loop {
            // SAFETY: libc's malloc; a block is either kept (in the snapshot,
            // for good) or freed below, once.
            let p = unsafe { malloc(size) } as usize;
            if p == 0 {
                return;
            }
            last = [last[1], last[2], p];
            let end_to_end = |a: usize, b: usize| a != 0 && b > a && b - a <= size + 32;
            if end_to_end(last[0], last[1]) && end_to_end(last[1], last[2]) {
                for q in last {
                    // SAFETY: allocated by malloc above and not freed yet.
                    unsafe { free(q as *mut u8) };
                }
                break;
            }
        }
        size /= 2;
    }
}

/// Allocation for values the host passes into import results.
///
/// Javy's `cabi_realloc` answers every zero-size request with address 1, which
/// wasmtime rejects for lists whose alignment is above 1 (an empty `headers`).
/// wit-component prefers these two names over `cabi_realloc`, so they route
/// the component model's allocations to wit-bindgen's realloc, which aligns.
///
/// # Safety
/// Called by the canonical ABI only, with the contract of `cabi_realloc`.
#[unsafe(export_name = "cabi_import_realloc")]
pub unsafe extern "C" fn cabi_import_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    // SAFETY: same contract as the canonical ABI's realloc, which calls this.
    unsafe { wit_bindgen::rt::cabi_realloc(old_ptr, old_len, align, new_len) }
}

/// Allocation for export parameters; see [`cabi_import_realloc`].
///
/// # Safety
/// Called by the canonical ABI only, with the contract of `cabi_realloc`.
#[unsafe(export_name = "cabi_export_realloc")]
pub unsafe extern "C" fn cabi_export_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    // SAFETY: same contract as the canonical ABI's realloc, which calls this.
    unsafe { wit_bindgen::rt::cabi_realloc(old_ptr, old_len, align, new_len) }
}

/// Loads a module from QuickJS bytecode produced by this engine's `compile`.
pub fn load_bytecode<'js>(
    ctx: &javy_plugin_api::javy::quickjs::Ctx<'js>,
    bytecode: &[u8],
) -> javy_plugin_api::javy::quickjs::Result<
    javy_plugin_api::javy::quickjs::Module<'js, javy_plugin_api::javy::quickjs::module::Declared>,
> {
    // SAFETY: QuickJS's JS_ReadObject checks bounds while reading and reports
    // malformed input as an exception; the host only hands in bytecode that this
    // engine's `compile` produced (the artifact records the engine version).
    unsafe { javy_plugin_api::javy::quickjs::Module::load(ctx.clone(), bytecode) }
}

thread_local! {
    /// Tick markers queued and run (see [`run_one_tick`]).
    static TICKS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// The job of a tick marker: counts itself as run.
unsafe extern "C" fn tick_marker(
    _ctx: RawContext,
    _argc: std::ffi::c_int,
    _argv: *mut javy_plugin_api::javy::quickjs::qjs::JSValue,
) -> javy_plugin_api::javy::quickjs::qjs::JSValue {
    TICKS.with(|t| {
        let (queued, run) = t.get();
        t.set((queued, run + 1));
    });
    javy_plugin_api::javy::quickjs::qjs::JS_UNDEFINED
}

/// Runs the jobs queued so far (and not those they queue): what `await` of a
/// value that is already there waits for, without an async function and a
/// promise. A marker job goes to the end of the queue and jobs run until it
/// has. (Markers left by a job that threw run later and count as run.)
pub fn run_one_tick(ctx: &javy_plugin_api::javy::quickjs::Ctx<'_>) {
    // SAFETY: enqueues a job with no arguments on the engine's live context;
    // `tick_marker` touches no JS value.
    let rc = unsafe { javy_plugin_api::javy::quickjs::qjs::JS_EnqueueJob(ctx.as_raw().as_ptr(), Some(tick_marker), 0, std::ptr::null_mut()) };
    if rc != 0 {
        return; // (out of memory: the exception is pending; nothing to wait for)
    }
    let queued = TICKS.with(|t| {
        let (queued, run) = t.get();
        t.set((queued + 1, run));
        queued + 1
    });
    while TICKS.with(|t| t.get().1) < queued && ctx.execute_pending_job() {}
}
