#ifndef CGATEWAYPROCESS_H
#define CGATEWAYPROCESS_H

#include <sys/types.h>

/// Makes the calling process the child subreaper of its descendants. Returns 0 or -1.
int gateway_become_subreaper(void);

/// A pidfd for `pid` (readable once the process exited), or -1 where the kernel has none.
int gateway_pidfd_open(pid_t pid);

#endif
