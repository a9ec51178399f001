#if canImport(Glibc)
    import CGatewayProcess
    import Glibc

    /// The small process between the gateway and a stdio server (`mcp-gateway stdio-guard --parent PID -- CMD ARGS`),
    /// so that the server dies with the gateway however the gateway ends, SIGKILL included.
    ///
    /// It starts the command in its own process group (the one the gateway made for the guard) with the same stdin,
    /// stdout, stderr and environment, no signal blocked and every signal at its default, then gives those
    /// descriptors up, so the server alone holds the pipes. It waits on a pidfd of the gateway: when the gateway is
    /// gone, it kills the whole process group (itself included). It is the group's child subreaper, so descendants
    /// orphaned by the server are reaped rather than left as zombies. It ignores SIGTERM itself (the group's SIGTERM
    /// reaches the server, which decides) and exits as the server did: with its exit code, or by the same signal. A
    /// parent-death signal would not do: Linux sends it when the *thread* that spawned the child exits, and the
    /// gateway's threads come and go.
    public enum StdioChildGuard {
        public static func run(parent: pid_t, command: [String]) -> Never {
            nameProcess("mcp-stdio-guard")
            _ = gateway_become_subreaper()
            // A handler, not SIG_IGN: handlers are reset by exec, ignored signals would be inherited by the server.
            signal(SIGTERM) { _ in }
            guard getppid() == parent, let executable = command.first else { killGroupAndExit() }
            let parentWatch = pidfd(parent)
            guard getppid() == parent else { killGroupAndExit() }

            var child: pid_t = 0
            var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
            // This runs on a thread of Swift's pool, which blocks most signals: the server must start with none
            // blocked and every signal at its default, as if the gateway had started it itself.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            var all = sigset_t()
            sigfillset(&all)
            sigdelset(&all, SIGKILL)
            sigdelset(&all, SIGSTOP)
            posix_spawnattr_setsigdefault(&attributes, &all)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            let spawned = posix_spawnp(&child, executable, nil, &attributes, &argv, environ)
            posix_spawnattr_destroy(&attributes)
            guard spawned == 0 else {
                let message = "could not start \(executable): \(String(cString: strerror(spawned)))\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
                exit(127)
            }
            // Only the server holds the pipes now, so the gateway sees them close when the server goes.
            let null = open("/dev/null", O_RDWR)
            for descriptor: Int32 in 0...2 { _ = dup2(null, descriptor) }
            if null > 2 { close(null) }

            let childWatch = pidfd(child)
            while true {
                var watched = [parentWatch, childWatch].compactMap { $0 }.map {
                    pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
                }
                // With pidfds the wait ends on either exit; without (old kernels), it is a 250 ms poll of the parent.
                _ = poll(&watched, nfds_t(watched.count), parentWatch == nil ? 250 : 1000)
                if getppid() != parent || (parentWatch != nil && watched[0].revents != 0) { killGroupAndExit() }
                var status: Int32 = 0
                while true {
                    let reaped = waitpid(-1, &status, WNOHANG)
                    if reaped <= 0 { break }
                    if reaped == child { exitAs(status) }
                }
            }
        }

        private static func pidfd(_ pid: pid_t) -> Int32? {
            let descriptor = gateway_pidfd_open(pid)
            return descriptor >= 0 ? descriptor : nil
        }

        private static func killGroupAndExit() -> Never {
            kill(0, SIGKILL)
            exit(137)
        }

        /// Ends this process the way the server ended.
        private static func exitAs(_ status: Int32) -> Never {
            let signalNumber = status & 0x7f
            if signalNumber == 0 { exit((status >> 8) & 0xff) }
            signal(signalNumber, SIG_DFL)
            // Unblocked on this thread and raised on it, so this thread takes it at once.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signalNumber)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            raise(signalNumber)
            exit(128 + signalNumber)
        }

        /// The process's name as `ps` shows it: the main thread's, which `/proc/self/comm` sets from any thread.
        private static func nameProcess(_ name: String) {
            let descriptor = open("/proc/self/comm", O_WRONLY)
            guard descriptor >= 0 else { return }
            _ = name.withCString { write(descriptor, $0, strlen($0)) }
            close(descriptor)
        }
    }
#endif
