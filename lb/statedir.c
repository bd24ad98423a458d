/* statedir: see statedir.h. */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATEDIR_MODE 0700

int statedir_open(const char *path, uid_t owner, gid_t group, char *err, size_t errlen)
{
    if (mkdir(path, STATEDIR_MODE) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--state-dir: cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "--state-dir: cannot open '%s': %s%s", path, strerror(errno),
                 errno == ELOOP ? " (a symbolic link: refused, give the directory itself)" : "");
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || ((st.st_uid != owner || st.st_gid != group) && fchown(fd, owner, group) != 0)) {
        snprintf(err, errlen, "--state-dir: cannot give '%s' to uid %u gid %u: %s", path, (unsigned)owner,
                 (unsigned)group, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
