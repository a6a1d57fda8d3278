//! Helper threads: where they start, and at what priority.

use std::thread::JoinHandle;

/// Spawns a thread for work that should run now beside the caller: it
/// starts on another CPU than the caller's.
///
/// After an idle spell (a server starting on a quiet machine), Linux puts
/// a new thread on its parent's CPU, where it waits until the parent blocks
/// or is preempted, up to a time slice: a C test on this project's 2-CPU VM
/// (ad hoc) had new threads start 2.85 ms (median) after `pthread_create`
/// while the parent kept its CPU busy, on the parent's CPU 38 times in 40;
/// 0.04 ms, elsewhere 33 times in 40, when the machine had been busy just
/// before. Start-up's checksum and usage database threads were held up so,
/// by up to 0.8 ms. So the new thread is moved off the caller's CPU as soon
/// as it exists (before it can have run there), and once it runs it takes
/// back the caller's set of CPUs (for the threads it spawns, and so that
/// the scheduler may move it later). On a machine where the caller may only
/// use one CPU this is a plain spawn.
pub fn spawn_beside<T, F>(name: &str, f: F) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    #[cfg(target_os = "linux")]
    #[expect(unsafe_code, reason = "sched_getaffinity/sched_setaffinity/pthread_setaffinity_np with cpu_set_ts of our own")]
    // SAFETY: the calls read or write only the `cpu_set_t`s passed with their
    // size, for the calling thread (pid 0) or the thread just spawned, alive
    // while `handle` is.
    unsafe {
        use std::os::unix::thread::JoinHandleExt;
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        let here = libc::sched_getcpu();
        if here >= 0 && libc::sched_getaffinity(0, size, &mut allowed) == 0 {
            let mut others = allowed;
            libc::CPU_CLR(here as usize, &mut others);
            if libc::CPU_COUNT(&others) > 0 {
                // The new thread takes its CPUs back only once it has been
                // moved (else the move could come after and stick).
                let moved = std::sync::Arc::new(std::sync::Mutex::new(()));
                let moving = moved.lock().unwrap_or_else(|e| e.into_inner());
                let gate = moved.clone();
                let handle = std::thread::Builder::new().name(name.into()).spawn(move || {
                    drop(gate.lock().unwrap_or_else(|e| e.into_inner()));
                    libc::sched_setaffinity(0, size, &allowed);
                    f()
                })?;
                libc::pthread_setaffinity_np(handle.as_pthread_t(), size, &others);
                drop(moving);
                return Ok(handle);
            }
        }
    }
    std::thread::Builder::new().name(name.into()).spawn(f)
}

/// Puts the calling thread at idle CPU priority (`SCHED_IDLE`, else nice
/// 19): it runs when a CPU has nothing else to run.
pub fn run_when_idle() {
    #[expect(unsafe_code, reason = "sched_setscheduler is a plain syscall")]
    // SAFETY: changes the scheduling policy of this thread only.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The thread `spawn_beside` makes starts on another CPU than its
    /// caller's (when the caller may use another one), then may use every
    /// CPU its caller may.
    #[test]
    #[expect(unsafe_code, reason = "sched_getaffinity/sched_setaffinity with cpu_set_ts of our own")]
    fn a_thread_spawned_beside_starts_off_the_callers_cpu() {
        // SAFETY (all blocks): the calls read or write only the `cpu_set_t`s
        // passed with their size, for the calling thread (pid 0).
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut allowed) }, 0);
        if unsafe { libc::CPU_COUNT(&allowed) } < 2 {
            eprintln!("one CPU only: nothing to keep off");
            return;
        }
        for round in 0..20 {
            // This thread stays on its CPU until the thread has started.
            let here = unsafe { libc::sched_getcpu() } as usize;
            let spawned = super::spawn_beside("facets-test", move || {
                let started_on = unsafe { libc::sched_getcpu() } as usize;
                let mut mask: libc::cpu_set_t = unsafe { std::mem::zeroed() };
                assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut mask) }, 0);
                (started_on, mask)
            })
            .expect("spawn");
            let still_here = unsafe { libc::sched_getcpu() } as usize == here;
            // Busy here, as start-up's main thread is.
            let t = std::time::Instant::now();
            while !spawned.is_finished() && t.elapsed() < std::time::Duration::from_millis(50) {
                std::hint::spin_loop();
            }
            let (started_on, mask) = spawned.join().expect("join");
            // (A round where this thread itself moved meanwhile proves nothing.)
            if still_here {
                assert_ne!(started_on, here, "round {round}: the thread started on its caller's CPU");
            }
            assert!(unsafe { libc::CPU_EQUAL(&mask, &allowed) }, "round {round}: the thread did not take back every CPU");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
