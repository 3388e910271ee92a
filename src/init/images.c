/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Images the user keeps for every node, imported into the node's image store when it starts, before its
 * kubelet does (as k3s imports its agent/images directory): what a cluster without a registry needs (the
 * sandbox image, CoreDNS) and a CI job's own images, there for a node made a second ago. Each archive is
 * read by ctr from a descriptor opened here (no link followed, the user's own regular file); the imports
 * run while the control plane starts, and what failed is a warning, not a failed node. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "util.h"

#define IMAGES_WAIT_MS 300000           /* a few hundred MiB of layers on a slow disk */

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The archives in the directory, sorted: NAME.tar, at most INIT_IMAGES_MAX of them. */
static int list_archives(int dfd, char ***ret, size_t *ret_n) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);

                if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".tar") != 0)
                        continue;
                if (n == INIT_IMAGES_MAX) {
                        closedir(d);
                        return -E2BIG;
                }
                if (strv_push(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                n++;
        }
        closedir(d);
        if (n)
                qsort(names, n, sizeof *names, name_cmp);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

/* The archive's descriptor: a regular file of ours, reached without a link. */
static int open_archive(struct init *in, int dfd, const char *name) {
        struct stat st;
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);

        if (fd < 0) {
                int e = errno;

                init_stage(in, "warn image archive %s/%s not imported: %s", in->images_dir, name,
                           e == ELOOP ? "a symbolic link, not followed" : strerror(e));
                return -e;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid()) {
                init_stage(in, "warn image archive %s/%s not imported: not a regular file of this user's",
                           in->images_dir, name);
                close(fd);
                return -EPERM;
        }
        /* ctr reads it as its stdin: blocking. */
        (void) fcntl(fd, F_SETFL, 0);
        return fd;
}

static int import_start(struct init *in, int dfd, const char *name, const char *snapshotter, int log_fd) {
        struct init_import *im = &in->imports[in->n_imports];
        _cleanup_close_ int fd = open_archive(in, dfd, name);
        char *argv[] = { (char *) "ctr", (char *) "--address", (char *) in->params.address, (char *) "--namespace",
                         (char *) "k8s.io", (char *) "images", (char *) "import", (char *) "--snapshotter",
                         (char *) snapshotter, (char *) "-", NULL };
        const struct proc_exec x = {
                .argv = argv, .stdio = { fd, log_fd, log_fd }, .keep_fd = -1,
                .flags = PROC_NEW_PGRP | PROC_DEATHSIG | PROC_PATH_SEARCH,
        };
        int r;

        if (fd < 0)
                return fd;
        snprintf(im->name, sizeof im->name, "%s", name);
        r = proc_exec_start(&x, &im->proc);
        if (r < 0) {
                init_stage(in, "warn image archive %s/%s not imported: cannot run ctr: %s", in->images_dir, name,
                           strerror(-r));
                return r;
        }
        in->n_imports++;
        return 0;
}

int init_images_start(struct init *in) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -EBADF, log_fd = -EBADF;
        _cleanup_free_ char *log = xstrdup_printf("%s/images.log", in->runtime_dir);
        size_t n = 0;
        int r;

        if (!in->images_dir)
                return 0;
        dfd = open(in->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0) {
                if (errno != ENOENT)
                        init_stage(in, "warn no images imported from %s: %s", in->images_dir, strerror(errno));
                return 0;
        }
        r = list_archives(dfd, &names, &n);
        if (r < 0) {
                init_stage(in, "warn no images imported from %s: %s", in->images_dir,
                           r == -E2BIG ? "more than " STRINGIFY(INIT_IMAGES_MAX) " archives" : strerror(-r));
                return 0;
        }
        if (n == 0)
                return 0;
        log_fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600) : -ENOMEM;
        if (log_fd < 0) {
                init_stage(in, "warn no images imported: cannot open %s", strna(log));
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                (void) import_start(in, dfd, names[i], in->params.snapshotter, log_fd);
        fprintf(stderr, "usernode-init: importing %zu image archive(s) from %s\n", in->n_imports, in->images_dir);
        return 0;
}

int init_images_wait(struct init *in) {
        uint64_t start = now_usec(), deadline = start + IMAGES_WAIT_MS * 1000ull;

        for (size_t i = 0; i < in->n_imports; i++) {
                struct init_import *im = &in->imports[i];

                for (;;) {
                        struct pollfd pf[2] = { { .fd = in->signal_fd, .events = POLLIN },
                                                { .fd = im->proc.pidfd, .events = POLLIN } };
                        uint64_t now = now_usec();

                        if (proc_try_reap(&im->proc) > 0)
                                break;
                        if (now >= deadline) {
                                proc_stop(&im->proc, 1000);
                                break;
                        }
                        if (poll(pf, 2, (int) ((deadline - now) / 1000u) + 1) < 0 && errno != EINTR)
                                return -errno;
                        /* A stop signal ends the wait; the imports die with us. */
                        if (pf[0].revents)
                                return -EINTR;
                }
                if (!WIFEXITED(im->proc.status) || WEXITSTATUS(im->proc.status) != 0)
                        init_stage(in, "warn image archive %s/%s not imported: ctr exited with status %d; see %s/images.log",
                                   in->images_dir, im->name, init_exit_code(&im->proc), in->runtime_dir);
                proc_done(&im->proc);
        }
        if (in->n_imports)
                fprintf(stderr, "usernode-init: %zu image archive(s) imported in %" PRIu64 " ms\n", in->n_imports,
                        (now_usec() - start) / 1000);
        in->n_imports = 0;
        return 0;
}
