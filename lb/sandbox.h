/* sandbox: the seccomp allow-list the daemon loads after dropping its privileges and before it
 * starts any thread (every thread inherits it): the system calls the running daemon makes, and
 * nothing else. Everything privileged was done before (sockets, files, the helper: main.c), so
 * what is left is I/O on descriptors it holds, the health probes' AF_INET sockets, memory,
 * threads, time and the files of --state-dir. A call outside the list kills the whole process
 * (the log says why; an e2e test run shows a missing one at once); in sanitizer builds
 * (RAWLB_SECCOMP_LOG) it is allowed and logged by the kernel instead, since the sanitizers'
 * own machinery makes calls the daemon never does. */
#ifndef RAWLB_SANDBOX_H
#define RAWLB_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* Loads the filter for this process. False with a message. */
bool sandbox_load(char *err, size_t errlen);
/* What a call outside the list does in this build: "kill" or "log". */
const char *sandbox_mode(void);

#endif
