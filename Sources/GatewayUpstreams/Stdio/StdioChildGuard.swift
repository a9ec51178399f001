#if canImport(Glibc)
    import CGatewayProcess
    import Glibc

    /// The small process between the gateway and a stdio server (`mcp-gateway stdio-guard --parent PID -- CMD ARGS`),
    /// so that the server dies with the gateway however the gateway ends, SIGKILL included.
    ///
    /// It starts the command in its own process group (the one the gateway made for the guard) with the same stdin,
    /// stdout, stderr and environment, then gives those descriptors up, so the server alone holds the pipes. It waits
    /// on a pidfd of the gateway: when the gateway is gone, it kills the whole process group (itself included). It is
    /// the group's child subreaper, so descendants orphaned by the server are reaped rather than left as zombies. It
    /// ignores SIGTERM itself (the group's SIGTERM reaches the server, which decides) and exits as the server did: with
    /// its exit code, or by the same signal. A parent-death signal would not do: Linux sends it when the *thread* that
    /// spawned the child exits, and the gateway's threads come and go.
    public enum StdioChildGuard {
        public static func run(parent: pid_t, command: [String]) -> Never {
            _ = gateway_set_process_name("mcp-stdio-guard")
            _ = gateway_become_subreaper()
            // A handler, not SIG_IGN: handlers are reset by exec, ignored signals would be inherited by the server.
            signal(SIGTERM) { _ in }
            guard getppid() == parent, let executable = command.first else { killGroupAndExit() }
            let parentWatch = pidfd(parent)
            guard getppid() == parent else { killGroupAndExit() }

            var child: pid_t = 0
            var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
            let spawned = posix_spawnp(&child, executable, nil, nil, &argv, environ)
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
            kill(getpid(), signalNumber)
            exit(128 + signalNumber)
        }
    }
#endif
