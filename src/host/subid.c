/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "subid.h"
#include "util.h"

void subid_file_done(struct subid_file *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->ranges[i].owner);
        free(f->ranges);
        for (size_t i = 0; i < f->n_lines; i++)
                free(f->lines[i]);
        free(f->lines);
        *f = (struct subid_file) {};
}

/* A line shown in a message: at most 80 bytes, control bytes as '?'. */
static void quote_line(const char *s, size_t n, char out[static 84]) {
        size_t i;

        for (i = 0; i < n && i < 80; i++)
                out[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        if (n > 80) {
                memcpy(out + i, "...", 3);
                i += 3;
        }
        out[i] = '\0';
}

static char *strip_blanks(char *s) {
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                *--e = '\0';
        return s;
}

static int push_line(struct subid_file *f, const char *s, size_t n, size_t *cap) {
        if (f->n_lines == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                char **l = realloc(f->lines, c * sizeof *l);

                if (!l)
                        return -ENOMEM;
                f->lines = l;
                *cap = c;
        }
        f->lines[f->n_lines] = strndup(s, n);
        if (!f->lines[f->n_lines])
                return -ENOMEM;
        f->n_lines++;
        return 0;
}

static int push_range(struct subid_file *f, const char *owner, uint32_t start, uint32_t count, unsigned line,
                      size_t *cap) {
        if (f->n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                struct subid_range *r = realloc(f->ranges, c * sizeof *r);

                if (!r)
                        return -ENOMEM;
                f->ranges = r;
                *cap = c;
        }
        f->ranges[f->n] = (struct subid_range) { .owner = strdup(owner), .start = start, .count = count, .line = line };
        if (!f->ranges[f->n].owner)
                return -ENOMEM;
        f->n++;
        return 0;
}

/* Parses one non-comment line (a copy, modified) into its three fields. */
static int parse_entry(char *line, char **ret_owner, uint32_t *ret_start, uint32_t *ret_count, const char **ret_why) {
        char *f[3], *p = line;
        uint32_t start, count;

        for (size_t i = 0; i < 3; i++) {
                char *colon = strchr(p, ':');

                if (i < 2) {
                        if (!colon) {
                                *ret_why = "expected owner:start:count";
                                return -EBADMSG;
                        }
                        *colon = '\0';
                } else if (colon) {
                        *ret_why = "too many ':' fields";
                        return -EBADMSG;
                }
                f[i] = strip_blanks(p);
                p = colon ? colon + 1 : NULL;
        }
        if (f[0][0] == '\0' || strpbrk(f[0], " \t")) {
                *ret_why = "invalid owner";
                return -EBADMSG;
        }
        if (parse_u32(f[1], &start) < 0 || parse_u32(f[2], &count) < 0) {
                *ret_why = "start and count must be decimal numbers below 2^32";
                return -EBADMSG;
        }
        if ((uint64_t) start + count > (uint64_t) UINT32_MAX) {
                *ret_why = "start + count overflows 32 bits";
                return -ERANGE;
        }
        *ret_owner = f[0];
        *ret_start = start;
        *ret_count = count;
        return 0;
}

int subid_file_parse(const char *what, const char *text, size_t len, struct subid_file *ret, struct un_error *err) {
        struct subid_file f = {};
        size_t cap_lines = 0, cap_ranges = 0, pos = 0;
        unsigned lineno = 0;
        char shown[84];
        int r;

        if (len > SUBID_FILE_MAX)
                return un_error(err, EFBIG, "%s is larger than %u bytes", what, SUBID_FILE_MAX);
        while (pos < len) {
                const char *s = text + pos, *nl = memchr(s, '\n', len - pos), *nul;
                size_t n = nl ? (size_t) (nl - s) : len - pos;
                _cleanup_free_ char *copy = NULL;
                const char *why = NULL;
                char *owner, *t;
                uint32_t start, count;

                lineno++;
                quote_line(s, n, shown);
                if (n > SUBID_LINE_MAX) {
                        r = un_error(err, E2BIG, "%s:%u: line longer than %u bytes: '%s'", what, lineno,
                                     SUBID_LINE_MAX, shown);
                        goto fail;
                }
                nul = memchr(s, '\0', n);
                if (nul) {
                        r = un_error(err, EBADMSG, "%s:%u: NUL byte in line: '%s'", what, lineno, shown);
                        goto fail;
                }
                r = push_line(&f, s, n, &cap_lines);
                if (r < 0)
                        goto fail_nomem;
                if (!nl)
                        f.no_final_newline = true;
                pos += n + (nl ? 1 : 0);

                copy = strndup(s, n);
                if (!copy)
                        goto fail_nomem;
                t = strip_blanks(copy);
                if (t[0] == '\0' || t[0] == '#')
                        continue;
                r = parse_entry(t, &owner, &start, &count, &why);
                if (r < 0) {
                        r = un_error(err, -r, "%s:%u: malformed line (%s): '%s'", what, lineno, why, shown);
                        goto fail;
                }
                if (f.n >= SUBID_MAX_ENTRIES) {
                        r = un_error(err, E2BIG, "%s: more than %u entries", what, SUBID_MAX_ENTRIES);
                        goto fail;
                }
                r = push_range(&f, owner, start, count, lineno, &cap_ranges);
                if (r < 0)
                        goto fail_nomem;
        }
        *ret = f;
        return 0;
fail_nomem:
        r = un_error(err, ENOMEM, "%s", what);
fail:
        subid_file_done(&f);
        return r;
}

int subid_file_load(const struct host *h, const char *path, struct subid_file *ret, bool *ret_exists,
                    struct un_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = host_read_file(h, path, SUBID_FILE_MAX, &text, &len);
        if (r == -ENOENT) {
                *ret = (struct subid_file) {};
                if (ret_exists)
                        *ret_exists = false;
                return 0;
        }
        if (r == -EFBIG)
                return un_error(err, EFBIG, "%s is larger than %u bytes", path, SUBID_FILE_MAX);
        if (r == -EINVAL || r == -EISDIR)
                return un_error(err, -r, "cannot read %s: not a regular file", path);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        r = subid_file_parse(path, text, len, ret, err);
        if (r >= 0 && ret_exists)
                *ret_exists = true;
        return r;
}

char *subid_file_format(const struct subid_file *f, size_t *ret_len) {
        struct buf b = {};

        for (size_t i = 0; i < f->n_lines; i++) {
                bool last = i + 1 == f->n_lines;

                if (buf_puts(&b, f->lines[i]) < 0 || ((!last || !f->no_final_newline) && buf_puts(&b, "\n") < 0)) {
                        buf_free(&b);
                        return NULL;
                }
        }
        if (ret_len)
                *ret_len = b.len;
        return buf_steal(&b);
}

int subid_file_append(struct subid_file *f, const char *owner, uint32_t start, uint32_t count) {
        _cleanup_free_ char *line = NULL;
        size_t cap_lines = f->n_lines, cap_ranges = f->n;
        int r;

        if (!valid_user_name(owner) || (uint64_t) start + count > UINT32_MAX)
                return -EINVAL;
        line = xstrdup_printf("%s:%u:%u", owner, start, count);
        if (!line)
                return -ENOMEM;
        r = push_line(f, line, strlen(line), &cap_lines);
        if (r < 0)
                return r;
        /* The previous last line gets its missing newline; the new one ends with one. */
        f->no_final_newline = false;
        return push_range(f, owner, start, count, (unsigned) f->n_lines, &cap_ranges);
}

int subid_file_remove_line(struct subid_file *f, const char *line) {
        for (size_t i = f->n_lines; i > 0; i--) {
                if (strcmp(f->lines[i - 1], line) != 0)
                        continue;
                free(f->lines[i - 1]);
                memmove(f->lines + i - 1, f->lines + i, (f->n_lines - i) * sizeof(char *));
                f->n_lines--;
                for (size_t k = 0; k < f->n; k++)
                        if (f->ranges[k].line == i) {
                                free(f->ranges[k].owner);
                                memmove(f->ranges + k, f->ranges + k + 1, (f->n - k - 1) * sizeof *f->ranges);
                                f->n--;
                                break;
                        }
                for (size_t k = 0; k < f->n; k++)
                        if (f->ranges[k].line > i)
                                f->ranges[k].line--;
                return 0;
        }
        return -ENOENT;
}

bool subid_range_is_user(const struct subid_range *r, const char *name, uint32_t id) {
        uint32_t v;

        if (name && strcmp(r->owner, name) == 0)
                return true;
        return parse_u32(r->owner, &v) >= 0 && v == id;
}

static bool ranges_overlap(const struct subid_range *a, const struct subid_range *b) {
        uint64_t a_end = (uint64_t) a->start + a->count, b_end = (uint64_t) b->start + b->count;

        return a->count > 0 && b->count > 0 && a->start < b_end && b->start < a_end;
}

void subid_evaluate(const struct subid_file *f, const char *name, uint32_t uid, uint32_t own_id,
                    struct subid_verdict *ret) {
        struct subid_verdict v = {};

        for (size_t i = 0; i < f->n; i++) {
                const struct subid_range *r = &f->ranges[i];

                if (!subid_range_is_user(r, name, uid))
                        continue;
                v.n_ranges++;
                v.total += r->count;
                if (!v.best || r->count > v.best->count)
                        v.best = r;
                if (!v.contains_own && own_id >= r->start && (uint64_t) own_id < (uint64_t) r->start + r->count)
                        v.contains_own = r;
                for (size_t k = 0; k < f->n && !v.overlap_mine; k++)
                        if (!subid_range_is_user(&f->ranges[k], name, uid) && ranges_overlap(r, &f->ranges[k])) {
                                v.overlap_mine = r;
                                v.overlap_other = &f->ranges[k];
                        }
        }
        *ret = v;
}

struct interval {
        uint64_t start, end;    /* [start, end) */
};

static int interval_cmp(const void *a, const void *b) {
        const struct interval *x = a, *y = b;

        return x->start < y->start ? -1 : x->start > y->start;
}

int subid_find_free(const struct subid_file *f, const struct id_table *ids, uint32_t min_start, uint32_t count,
                    uint32_t *ret_start) {
        size_t n = f->n + (ids ? ids->n : 0) + 1, k = 0;
        _cleanup_free_ struct interval *iv = NULL;
        uint64_t candidate = min_start;

        if (count == 0)
                return -EINVAL;
        iv = calloc(n, sizeof *iv);
        if (!iv)
                return -ENOMEM;
        for (size_t i = 0; i < f->n; i++)
                if (f->ranges[i].count > 0)
                        iv[k++] = (struct interval) { f->ranges[i].start,
                                                      (uint64_t) f->ranges[i].start + f->ranges[i].count };
        for (size_t i = 0; ids && i < ids->n; i++)
                iv[k++] = (struct interval) { ids->entries[i].id, (uint64_t) ids->entries[i].id + 1 };
        iv[k++] = (struct interval) { UINT32_MAX, (uint64_t) UINT32_MAX + 1 };
        qsort(iv, k, sizeof *iv, interval_cmp);
        for (size_t i = 0; i < k; i++) {
                if (iv[i].end <= candidate)
                        continue;
                if (iv[i].start >= candidate + count)
                        break;
                candidate = iv[i].end;
        }
        if (candidate + count > UINT32_MAX)
                return -ENOSPC;
        *ret_start = (uint32_t) candidate;
        return 0;
}

/* shadow's do_lock_file(): write our PID (with its NUL, as shadow does) to PATH.PID, link() it to
 * PATH.lock; a link count of 2 proves we made the lock. A lock left by a dead PID is removed. */
static int try_lock(int dfd, const char *pid_name, const char *lock_name) {
        char buf[32];
        struct stat st;
        ssize_t n;
        pid_t pid;
        int fd, r;

        /* A fresh file, never an existing one: in a directory others could write to, an existing name could be a
         * hard link to a file of root's, which O_TRUNC would empty. What is left there is a dead namesake's. */
        (void) unlinkat(dfd, pid_name, 0);
        fd = openat(dfd, pid_name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        snprintf(buf, sizeof buf, "%lu", (unsigned long) getpid());
        n = (ssize_t) strlen(buf) + 1;
        if (write(fd, buf, (size_t) n) != n || fdatasync(fd) < 0) {
                r = negative_errno();
                close(fd);
                (void) unlinkat(dfd, pid_name, 0);
                return r;
        }
        close(fd);

        for (int attempt = 0; attempt < 2; attempt++) {
                uint32_t v;

                if (linkat(dfd, pid_name, dfd, lock_name, 0) >= 0) {
                        r = fstatat(dfd, pid_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && st.st_nlink == 2 ? 0 : -EBUSY;
                        (void) unlinkat(dfd, pid_name, 0);
                        return r;
                }
                if (errno != EEXIST) {
                        r = negative_errno();
                        break;
                }
                struct stat held, now;

                fd = openat(dfd, lock_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = errno == ENOENT ? -EAGAIN : negative_errno();
                        break;
                }
                n = read(fd, buf, sizeof buf - 1);
                if (fstat(fd, &held) < 0)
                        n = -1;
                close(fd);
                if (n <= 0) {
                        r = -EBUSY;     /* being written right now, or empty: shadow gives up too */
                        break;
                }
                buf[n] = '\0';
                if (parse_u32(buf, &v) < 0) {   /* "1234\0": shadow writes the NUL too */
                        r = -EBUSY;
                        break;
                }
                pid = (pid_t) v;
                if (pid <= 0 || kill(pid, 0) >= 0 || errno != ESRCH) {
                        r = -EBUSY;
                        break;
                }
                /* Stale: its owner is gone. Unless it released the lock and another took it since we read it
                 * (then the name is a new inode, or gone): removing that one would let two hold the lock. */
                if (fstatat(dfd, lock_name, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_ino != held.st_ino ||
                    now.st_dev != held.st_dev || now.st_ctim.tv_sec != held.st_ctim.tv_sec ||
                    now.st_ctim.tv_nsec != held.st_ctim.tv_nsec) {
                        r = -EAGAIN;
                        break;
                }
                if (unlinkat(dfd, lock_name, 0) < 0 && errno != ENOENT) {
                        r = negative_errno();
                        break;
                }
                r = -EAGAIN;
        }
        (void) unlinkat(dfd, pid_name, 0);
        return r;
}

int subid_lock_take(const struct host *h, const char *path, struct subid_lock *ret, struct un_error *err) {
        _cleanup_free_ char *dir = NULL, *pid_name = NULL, *lock_name = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *slash = strrchr(path, '/'), *base;
        uint64_t start;
        int r;

        if (!slash || slash == path || slash[1] == '\0')
                return un_error(err, EINVAL, "invalid path %s", path);
        base = slash + 1;
        dir = strndup(path, (size_t) (slash - path));
        pid_name = xstrdup_printf("%s.%lu", base, (unsigned long) getpid());
        lock_name = xstrdup_printf("%s.lock", base);
        if (!dir || !pid_name || !lock_name)
                return un_error(err, ENOMEM, "lock %s", path);
        dfd = host_open(h, dir, O_PATH | O_DIRECTORY, 0, HOST_NO_SYMLINKS);
        if (dfd < 0)
                return un_error(err, -dfd, "cannot open %s to lock %s", dir, path);

        start = now_usec();
        for (unsigned i = 0;; i++) {
                r = try_lock(dfd, pid_name, lock_name);
                if (r >= 0)
                        break;
                if (r != -EBUSY && r != -EAGAIN)
                        return un_error(err, -r, "cannot lock %s (%s.lock)", path, path);
                if (now_usec() - start >= 15 * 1000000ull)
                        return un_error(err, EBUSY, "cannot lock %s: %s.lock is held by another process "
                                        "(usermod, useradd or usernode)", path, path);
                /* Short sleeps that grow: shadow sleeps 1 s, we want parallel setups to be quick. */
                usleep(1000u * (i < 10 ? 2u : i < 50 ? 10u : 50u));
        }
        *ret = (struct subid_lock) { .dfd = TAKE_FD(dfd), .lock_name = TAKE_PTR(lock_name) };
        return 0;
}

void subid_lock_release(struct subid_lock *l) {
        if (l->lock_name && l->dfd >= 0)
                (void) unlinkat(l->dfd, l->lock_name, 0);
        if (l->dfd >= 0)
                close(l->dfd);
        free(l->lock_name);
        *l = (struct subid_lock) { .dfd = -EBADF };
}

int subid_parse_getsubids(const char *text, const char *name, struct subid_file *ret) {
        _cleanup_free_ char *copy = strdup(text);
        struct subid_file f = {};
        size_t cap = 0;
        char *cursor = copy, *line;
        unsigned lineno = 0;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        while ((line = line_next(&cursor, SUBID_LINE_MAX, &r))) {
                _cleanup_strv_free_ char **w = NULL;
                uint32_t start, count;

                lineno++;
                if (strv_split(line, " \t", &w) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* "0: alice 100000 65536" */
                if (strv_length(w) != 4 || !w[0][0] || w[0][strlen(w[0]) - 1] != ':' || strcmp(w[1], name) != 0 ||
                    parse_u32(w[2], &start) < 0 || parse_u32(w[3], &count) < 0 ||
                    (uint64_t) start + count > UINT32_MAX) {
                        r = -EBADMSG;
                        break;
                }
                if (f.n >= SUBID_MAX_ENTRIES) {
                        r = -E2BIG;
                        break;
                }
                r = push_range(&f, name, start, count, lineno, &cap);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                subid_file_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}
