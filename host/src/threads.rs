//! Start-up's helper threads: where they run, and at what priority.

use std::thread::JoinHandle;

/// Spawns a short-lived thread for work that should run now beside the
/// caller: on another CPU than the caller's, for its whole (short) life.
///
/// After an idle spell (a server starting on a quiet machine), Linux puts
/// a new thread on its parent's CPU, where it waits until the parent blocks
/// or is preempted, up to a time slice: a C test on this project's 2-CPU VM
/// (ad hoc) had new threads start 2.85 ms (median) after `pthread_create`
/// while the parent kept its CPU busy, on the parent's CPU 38 times in 40;
/// 0.04 ms, elsewhere 33 times in 40, when the machine had been busy just
/// before. Start-up's checksum and usage database threads were held up so,
/// by up to 0.8 ms. So the new thread is moved off the caller's CPU as soon
/// as it exists (before it can have run). On a machine where the caller may
/// only use one CPU this is a plain spawn.
pub fn spawn_beside<T, F>(name: &str, f: F) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let handle = std::thread::Builder::new().name(name.into()).spawn(f)?;
    #[cfg(target_os = "linux")]
    #[expect(unsafe_code, reason = "sched_getaffinity/pthread_setaffinity_np with a cpu_set_t of our own")]
    // SAFETY: the calls read or write only the `cpu_set_t`s passed with their
    // size; the thread named is the one just spawned, alive while `handle` is.
    unsafe {
        use std::os::unix::thread::JoinHandleExt;
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut others: libc::cpu_set_t = std::mem::zeroed();
        let here = libc::sched_getcpu();
        if here >= 0 && libc::sched_getaffinity(0, size, &mut others) == 0 {
            libc::CPU_CLR(here as usize, &mut others);
            if libc::CPU_COUNT(&others) > 0 {
                libc::pthread_setaffinity_np(handle.as_pthread_t(), size, &others);
            }
        }
    }
    Ok(handle)
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
    /// The thread `spawn_beside` makes may not run on the CPU its caller ran
    /// on (when the caller may use another one), and may run on all others.
    #[test]
    #[expect(unsafe_code, reason = "sched_getaffinity with cpu_set_ts of our own")]
    fn a_thread_spawned_beside_keeps_off_the_callers_cpu() {
        // SAFETY (all blocks): the calls read only the `cpu_set_t`s passed
        // with their size, for the calling thread (pid 0).
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut allowed) }, 0);
        if unsafe { libc::CPU_COUNT(&allowed) } < 2 {
            eprintln!("one CPU only: nothing to keep off");
            return;
        }
        let spawned = super::spawn_beside("facets-test", move || {
            // (Read once the spawner has had time to move it.)
            std::thread::sleep(std::time::Duration::from_millis(20));
            let mut mask: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut mask) }, 0);
            let cpu = unsafe { libc::sched_getcpu() } as usize;
            (mask, unsafe { libc::CPU_ISSET(cpu, &mask) })
        })
        .expect("spawn");
        let (mask, on_an_allowed_cpu) = spawned.join().expect("join");
        let kept_off: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) && !libc::CPU_ISSET(c, &mask) })
            .collect();
        assert_eq!(kept_off.len(), 1, "one CPU (the caller's) is kept off, not {kept_off:?}");
        assert_eq!(unsafe { libc::CPU_COUNT(&mask) }, unsafe { libc::CPU_COUNT(&allowed) } - 1);
        assert!(on_an_allowed_cpu);
    }
}
