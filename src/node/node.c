/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <uuid/uuid.h>

#include "host.h"
#include "json.h"
#include "node.h"
#include "util.h"

bool node_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > NODE_NAME_MAX)
                return false;
        if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
                return false;
        return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int node_name_ephemeral(char **ret) {
        uuid_t u;
        char s[UUID_STR_LEN];

        uuid_generate_random(u);
        uuid_unparse_lower(u, s);
        *ret = xstrdup_printf("ci-%.8s", s);
        return *ret ? 0 : -ENOMEM;
}

/* The base of runtime state: $XDG_RUNTIME_DIR, else a per-user directory in /tmp (CI containers
 * have no logind); the caller checks ownership when it creates it. */
static char *runtime_base(void) {
        const char *x = secure_getenv("XDG_RUNTIME_DIR");

        if (x && x[0] == '/' && strlen(x) < 256)
                return xstrdup_printf("%s/usernode", x);
        return xstrdup_printf("/tmp/usernode-%u", (unsigned) getuid());
}

static char *data_base(void) {
        const char *x = secure_getenv("XDG_DATA_HOME"), *home = secure_getenv("HOME");

        if (x && x[0] == '/' && strlen(x) < 1024)
                return xstrdup_printf("%s/usernode/nodes", x);
        if (home && home[0] == '/' && strlen(home) < 1024)
                return xstrdup_printf("%s/.local/share/usernode/nodes", home);
        return NULL;
}

int node_resolve(const char *name, bool ephemeral, struct node *ret, struct un_error *err) {
        _cleanup_free_ char *rb = NULL, *db = NULL, *rt = NULL, *data = NULL, *nm = NULL;

        if (!node_name_valid(name))
                return un_error(err, EINVAL, "invalid node name '%.64s' (use a-z, 0-9, '-', '_', '.')", name);
        rb = runtime_base();
        if (!rb)
                return un_error(err, ENOMEM, "node %s", name);
        rt = xstrdup_printf("%s/%s", rb, name);
        if (ephemeral)
                data = xstrdup_printf("%s/%s/data", rb, name);
        else {
                db = data_base();
                if (!db)
                        return un_error(err, ENOENT, "neither XDG_DATA_HOME nor HOME is set");
                data = xstrdup_printf("%s/%s", db, name);
        }
        nm = strdup(name);
        if (!rt || !data || !nm)
                return un_error(err, ENOMEM, "node %s", name);
        *ret = (struct node) {
                .name = TAKE_PTR(nm),
                .runtime_dir = TAKE_PTR(rt),
                .data_dir = TAKE_PTR(data),
                .ephemeral = ephemeral,
                .lock_fd = -EBADF,
        };
        return 0;
}

char *node_runtime_path(const struct node *n, const char *name) {
        return xstrdup_printf("%s/%s", n->runtime_dir, name);
}

char *node_data_path(const struct node *n, const char *name) {
        return xstrdup_printf("%s/%s", n->data_dir, name);
}

int node_open(const char *name, struct node *ret, struct un_error *err) {
        struct node n;
        _cleanup_free_ char *marker = NULL;
        int r;

        r = node_resolve(name, false, &n, err);
        if (r < 0)
                return r;
        /* status, down, exec act on what is there: only when it is ours (a /tmp fallback is shared). */
        {
                _cleanup_free_ char *base = runtime_base();

                r = !base ? un_error(err, ENOMEM, "node %s", name)
                    : access(base, F_OK) == 0 ? node_dir_check(base, err) : 0;
                if (r >= 0 && access(n.runtime_dir, F_OK) == 0)
                        r = node_dir_check(n.runtime_dir, err);
                if (r < 0) {
                        node_done(&n);
                        return r;
                }
        }
        marker = node_runtime_path(&n, "ephemeral");
        if (!marker) {
                node_done(&n);
                return un_error(err, ENOMEM, "node %s", name);
        }
        if (access(marker, F_OK) == 0) {
                node_done(&n);
                r = node_resolve(name, true, &n, err);
                if (r < 0)
                        return r;
        }
        *ret = n;
        return 0;
}

int node_dir_check(const char *path, struct un_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return errno == ENOENT ? un_error(err, ENOENT, "%s does not exist", path)
                                       : un_error(err, errno, "%s is not a directory of yours (a symlink?)", path);
        if (fstat(fd, &st) < 0)
                return un_error(err, errno, "cannot stat %s", path);
        if (st.st_uid != getuid())
                return un_error(err, EPERM, "%s belongs to UID %u, not to you: another user may have made it to "
                                "catch your node's state; remove it, or set XDG_RUNTIME_DIR to a directory of yours",
                                path, (unsigned) st.st_uid);
        /* Ours: an older usernode may have made it with a wider mode. */
        if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 07700) < 0)
                return un_error(err, errno, "cannot make %s private", path);
        return 0;
}

/* mkdir -p with 0700 for what it creates; refuses a directory that is not ours or is a symlink. */
static int mkdir_private(const char *path, struct un_error *err) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return un_error(err, ENOMEM, "mkdir %s", path);
        for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
                if (s)
                        *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return un_error(err, errno, "cannot create %s", p);
                if (s)
                        *s = '/';
                else
                        break;
        }
        return node_dir_check(path, err);
}

int node_create_and_lock(struct node *n, struct un_error *err) {
        _cleanup_free_ char *lock = NULL, *base = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* The base of the runtime tree must be private: sockets and logs live there. */
        base = runtime_base();
        if (!base)
                return un_error(err, ENOMEM, "node %s", n->name);
        r = mkdir_private(base, err);
        if (r < 0)
                return r;
        r = mkdir_private(n->runtime_dir, err);
        if (r < 0)
                return r;
        lock = node_runtime_path(n, "lock");
        if (!lock)
                return un_error(err, ENOMEM, "node %s", n->name);
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return un_error(err, errno, "cannot open %s", lock);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return un_error(err, errno == EWOULDBLOCK ? EBUSY : errno, "node '%s' is running (%s is locked)",
                                n->name, lock);
        r = mkdir_private(n->data_dir, err);
        if (r < 0)
                return r;
        if (n->ephemeral) {
                _cleanup_free_ char *marker = node_runtime_path(n, "ephemeral");
                _cleanup_close_ int m = -EBADF;

                if (!marker)
                        return un_error(err, ENOMEM, "node %s", n->name);
                m = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (m < 0)
                        return un_error(err, errno, "cannot create %s", marker);
        }
        n->lock_fd = TAKE_FD(fd);
        return 0;
}

bool node_is_locked(const struct node *n) {
        _cleanup_free_ char *lock = node_runtime_path(n, "lock");
        _cleanup_close_ int fd = -EBADF;

        if (!lock)
                return false;
        fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        return false;
}

void node_done(struct node *n) {
        free(n->name);
        free(n->runtime_dir);
        free(n->data_dir);
        if (n->lock_fd >= 0)
                close(n->lock_fd);
        *n = (struct node) { .lock_fd = -EBADF };
}

/* Removes what the directory fd holds, entry by entry relative to it (systemd's rm_rf_children): never
 * following a symlink, never leaving the file system (dev), with no PATH_MAX on the depth; a directory
 * swapped for a symlink while we work is removed as the link it has become. Consumes dir_fd. */
static int rm_children(int dir_fd, dev_t dev) {
        DIR *d = fdopendir(dir_fd);
        struct dirent *de;
        int ret = 0;

        if (!d) {
                ret = -errno;
                close(dir_fd);
                return ret;
        }
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                int r = 0;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && ret == 0)
                                ret = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int fd;

                        if (st.st_dev != dev)
                                continue;       /* a mount: not ours to empty (its mount point stays) */
                        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0)
                                r = errno == ENOENT ? 0 : -errno;
                        else {
                                struct stat again;

                                /* The same directory we looked at, not one swapped in since. */
                                if (fstat(fd, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
                                        close(fd);
                                        r = -ESTALE;
                                } else
                                        r = rm_children(fd, dev);
                        }
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        r = -errno;
                if (r < 0 && ret == 0)
                        ret = r;
        }
        if (errno && ret == 0)
                ret = -errno;
        closedir(d);
        return ret;
}

int node_rm_rf(const char *path) {
        struct rlimit rl;
        struct stat st;
        int fd, r;

        /* One descriptor per level: a tree as deep as its owner can make it needs more than the default 1024. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno != ENOTDIR && errno != ELOOP)
                        return -errno;
                /* Not a directory (or a symlink): only the name goes. */
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = rm_children(fd, st.st_dev);
        if (rmdir(path) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

static const char *const state_names[_NODE_STATE_MAX] = {
        [NODE_STARTING] = "starting", [NODE_RUNNING] = "running", [NODE_STOPPING] = "stopping",
        [NODE_STOPPED] = "stopped",   [NODE_FAILED] = "failed",
};

static const char *const pid_names[_NODE_PID_MAX] = {
        [NODE_PID_SUPERVISOR] = "supervisor", [NODE_PID_ROOTLESSKIT] = "rootlesskit",
        [NODE_PID_CHILD] = "namespace",       [NODE_PID_INIT] = "init",
        [NODE_PID_CONTAINERD] = "containerd", [NODE_PID_ENGINE] = "engine",
};

const char *node_state_to_string(enum node_state s) {
        return s < _NODE_STATE_MAX ? state_names[s] : "unknown";
}

int node_state_from_string(const char *s, enum node_state *ret) {
        for (size_t i = 0; i < _NODE_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0) {
                        *ret = (enum node_state) i;
                        return 0;
                }
        return -EINVAL;
}

const char *node_pid_to_string(enum node_pid p) {
        return p < _NODE_PID_MAX ? pid_names[p] : "unknown";
}

void node_status_init(struct node_status *s) {
        *s = (struct node_status) {};
}

void node_status_done(struct node_status *s) {
        free(s->node_message);
        free(s->name);
        free(s->engine);
        free(s->since);
        free(s->state_dir);
        free(s->data_dir);
        free(s->kubeconfig);
        free(s->containerd_socket);
        free(s->net);
        free(s->port_driver);
        free(s->last_error);
        *s = (struct node_status) {};
}

int node_status_set_state(struct node_status *s, enum node_state state) {
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        if (!gmtime_r(&ts.tv_sec, &tm))
                return -EINVAL;
        snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
        free(s->since);
        s->since = strdup(buf);
        s->state = state;
        return s->since ? 0 : -ENOMEM;
}

void node_status_print_json(FILE *f, const struct node_status *s) {
        struct json j = { .f = f, .pretty = true };

        json_begin_object(&j, NULL);
        json_string(&j, "schema", "usernode.node/v1");
        json_string(&j, "name", s->name);
        json_string(&j, "engine", s->engine);
        json_string(&j, "state", node_state_to_string(s->state));
        json_string(&j, "since", s->since);
        json_int(&j, "started_usec", s->started_usec);
        json_begin_object(&j, "pids");
        for (size_t i = 0; i < _NODE_PID_MAX; i++)
                if (s->pids[i] > 0)
                        json_int(&j, pid_names[i], s->pids[i]);
        json_end_object(&j);
        json_string(&j, "state_dir", s->state_dir);
        json_string(&j, "data_dir", s->data_dir);
        json_string(&j, "kubeconfig", s->kubeconfig);
        json_string(&j, "containerd_socket", s->containerd_socket);
        json_string(&j, "net", s->net);
        json_string(&j, "port_driver", s->port_driver);
        json_bool(&j, "ephemeral", s->ephemeral);
        json_begin_array(&j, "ports");
        for (size_t i = 0; i < s->n_ports; i++) {
                json_begin_object(&j, NULL);
                json_string(&j, "proto", s->ports[i].proto);
                json_string(&j, "host_ip", s->ports[i].host_ip);
                json_int(&j, "host_port", s->ports[i].host_port);
                json_int(&j, "node_port", s->ports[i].node_port);
                json_int(&j, "id", s->ports[i].id);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_string(&j, "last_error", s->last_error);
        if (s->node_known) {
                json_begin_object(&j, "node");
                json_bool(&j, "ready", s->node_ready);
                json_string(&j, "message", s->node_message);
                json_end_object(&j);
        }
        json_end_object(&j);
        fputc('\n', f);
}

int node_status_write(const struct node *n, const struct node_status *s, struct un_error *err) {
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        f = open_memstream(&text, &len);
        if (!f)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        node_status_print_json(f, s);
        if (fclose(f) != 0)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        path = node_runtime_path(n, "status.json");
        if (!path)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        r = host_init(&h, "/", err);
        if (r < 0)
                return r;
        r = host_write_runtime(&h, path, text, len, 0600, err);
        host_done(&h);
        return r;
}

/* A strict reader for the status object: the JSON subset node_status_print_json writes. */
struct jp {
        const char *p;
        unsigned depth;
};

static void jp_ws(struct jp *j) {
        while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
                j->p++;
}

static int jp_expect(struct jp *j, char c) {
        jp_ws(j);
        if (*j->p != c)
                return -EINVAL;
        j->p++;
        return 0;
}

/* A string without escapes other than \" \\ \n \t \r \/ and \u00XX; at most 4096 bytes. */
static int jp_string(struct jp *j, char **ret) {
        struct buf b = {};
        int r = 0;

        if (jp_expect(j, '"') < 0)
                return -EINVAL;
        while (*j->p != '"') {
                char c = *j->p;

                if (c == '\0' || (unsigned char) c < 0x20 || b.len >= 4096) {
                        r = -EINVAL;
                        break;
                }
                if ((unsigned char) c >= 0x80) {
                        /* Raw bytes only as valid UTF-8: the writer turns anything else into \ufffd. */
                        size_t n = utf8_valid((const unsigned char *) j->p);

                        if (n == 0) {
                                r = -EINVAL;
                                break;
                        }
                        r = buf_append(&b, j->p, n);
                        if (r < 0)
                                break;
                        j->p += n;
                        continue;
                }
                if (c == '\\') {
                        j->p++;
                        switch (*j->p) {
                        case '"': case '\\': case '/': c = *j->p; break;
                        case 'n': c = '\n'; break;
                        case 't': c = '\t'; break;
                        case 'r': c = '\r'; break;
                        case 'u': {
                                char hex[5] = {};
                                unsigned long v;
                                char *end;

                                memcpy(hex, j->p + 1, strnlen(j->p + 1, 4) < 4 ? 0 : 4);
                                v = strtoul(hex, &end, 16);
                                if (strlen(hex) != 4 || *end || v == 0 || v > 0x7f) {
                                        r = -EINVAL;
                                        goto out;
                                }
                                c = (char) v;
                                j->p += 4;
                                break;
                        }
                        default:
                                r = -EINVAL;
                                goto out;
                        }
                }
                r = buf_append(&b, &c, 1);
                if (r < 0)
                        break;
                j->p++;
        }
out:
        if (r < 0) {
                buf_free(&b);
                return r;
        }
        j->p++;
        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

static int jp_int(struct jp *j, int64_t *ret) {
        char num[24];
        size_t n;

        jp_ws(j);
        n = strspn(j->p, "-0123456789");
        if (n == 0 || n >= sizeof num)
                return -EINVAL;
        memcpy(num, j->p, n);
        num[n] = '\0';
        j->p += n;
        return parse_i64(num, ret);
}

static bool jp_null(struct jp *j) {
        jp_ws(j);
        if (strncmp(j->p, "null", 4) != 0)
                return false;
        j->p += 4;
        return true;
}

static int jp_opt_string(struct jp *j, char **field) {
        char *s;
        int r;

        if (jp_null(j))
                return 0;
        r = jp_string(j, &s);
        if (r < 0)
                return r;
        free(*field);
        *field = s;
        return 0;
}

/* Iterates "key": value pairs of an object; calls each(key) with j at the value. */
static int jp_object(struct jp *j, int (*each)(struct jp *j, const char *key, void *userdata), void *userdata) {
        int r;

        if (++j->depth > 4)
                return -EINVAL;
        r = jp_expect(j, '{');
        if (r < 0)
                return r;
        jp_ws(j);
        if (*j->p == '}') {
                j->p++;
                j->depth--;
                return 0;
        }
        for (unsigned n = 0;; n++) {
                _cleanup_free_ char *key = NULL;

                if (n > 64)
                        return -E2BIG;
                r = jp_string(j, &key);
                if (r < 0)
                        return r;
                r = jp_expect(j, ':');
                if (r < 0)
                        return r;
                r = each(j, key, userdata);
                if (r < 0)
                        return r;
                jp_ws(j);
                if (*j->p == ',') {
                        j->p++;
                        continue;
                }
                r = jp_expect(j, '}');
                if (r < 0)
                        return r;
                break;
        }
        j->depth--;
        return 0;
}

static int pid_field(struct jp *j, const char *key, void *userdata) {
        struct node_status *s = userdata;
        int64_t v;
        int r = jp_int(j, &v);

        if (r < 0)
                return r;
        if (v <= 0 || v > INT32_MAX)
                return -ERANGE;
        for (size_t i = 0; i < _NODE_PID_MAX; i++)
                if (strcmp(key, pid_names[i]) == 0) {
                        s->pids[i] = (pid_t) v;
                        return 0;
                }
        return -EINVAL;
}

static int port_field(struct jp *j, const char *key, void *userdata) {
        struct node_port *p = userdata;
        _cleanup_free_ char *str = NULL;
        int64_t v;
        int r;

        if (strcmp(key, "proto") == 0 || strcmp(key, "host_ip") == 0) {
                char *dst = key[0] == 'p' ? p->proto : p->host_ip;
                size_t size = key[0] == 'p' ? sizeof p->proto : sizeof p->host_ip;

                r = jp_string(j, &str);
                if (r < 0)
                        return r;
                if (strlen(str) >= size)
                        return -EINVAL;
                strcpy(dst, str);
                return 0;
        }
        r = jp_int(j, &v);
        if (r < 0)
                return r;
        if (strcmp(key, "id") == 0) {
                if (v < -1)
                        return -ERANGE;
                p->id = v;
                return 0;
        }
        if (v < 0 || v > 65535)
                return -ERANGE;
        if (strcmp(key, "host_port") == 0)
                p->host_port = (uint16_t) v;
        else if (strcmp(key, "node_port") == 0)
                p->node_port = (uint16_t) v;
        else
                return -EINVAL;
        return 0;
}

static int status_field(struct jp *j, const char *key, void *userdata) {
        struct node_status *s = userdata;
        _cleanup_free_ char *str = NULL;
        int r;

        if (strcmp(key, "pids") == 0)
                return jp_object(j, pid_field, s);
        if (strcmp(key, "ports") == 0) {
                r = jp_expect(j, '[');
                if (r < 0)
                        return r;
                jp_ws(j);
                if (*j->p == ']') {
                        j->p++;
                        return 0;
                }
                for (;;) {
                        if (s->n_ports >= NODE_PORTS_MAX)
                                return -E2BIG;
                        s->ports[s->n_ports] = (struct node_port) { .id = -1 };
                        r = jp_object(j, port_field, &s->ports[s->n_ports]);
                        if (r < 0)
                                return r;
                        s->n_ports++;
                        jp_ws(j);
                        if (*j->p == ',') {
                                j->p++;
                                continue;
                        }
                        return jp_expect(j, ']');
                }
        }
        if (strcmp(key, "started_usec") == 0)
                return jp_int(j, &s->started_usec);
        if (strcmp(key, "ephemeral") == 0) {
                jp_ws(j);
                if (strncmp(j->p, "true", 4) == 0)
                        s->ephemeral = true, j->p += 4;
                else if (strncmp(j->p, "false", 5) == 0)
                        s->ephemeral = false, j->p += 5;
                else
                        return -EINVAL;
                return 0;
        }
        if (strcmp(key, "state") == 0) {
                r = jp_string(j, &str);
                return r < 0 ? r : node_state_from_string(str, &s->state);
        }
        if (strcmp(key, "schema") == 0) {
                r = jp_string(j, &str);
                return r < 0 ? r : strcmp(str, "usernode.node/v1") == 0 ? 0 : -EPROTO;
        }
        static const struct {
                const char *key;
                size_t offset;
        } strings[] = {
                { "name", offsetof(struct node_status, name) },
                { "engine", offsetof(struct node_status, engine) },
                { "since", offsetof(struct node_status, since) },
                { "state_dir", offsetof(struct node_status, state_dir) },
                { "data_dir", offsetof(struct node_status, data_dir) },
                { "kubeconfig", offsetof(struct node_status, kubeconfig) },
                { "containerd_socket", offsetof(struct node_status, containerd_socket) },
                { "net", offsetof(struct node_status, net) },
                { "port_driver", offsetof(struct node_status, port_driver) },
                { "last_error", offsetof(struct node_status, last_error) },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strcmp(key, strings[i].key) == 0)
                        return jp_opt_string(j, (char **) ((char *) s + strings[i].offset));
        return -EINVAL;
}

int node_status_parse(const char *text, struct node_status *ret) {
        struct node_status s = {};
        struct jp j = { .p = text };
        int r;

        if (strlen(text) > NODE_STATUS_MAX)
                return -EFBIG;
        r = jp_object(&j, status_field, &s);
        if (r >= 0) {
                jp_ws(&j);
                if (*j.p != '\0')
                        r = -EINVAL;
        }
        if (r >= 0 && !s.name)
                r = -EINVAL;
        if (r < 0) {
                node_status_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int node_status_read(const struct node *n, struct node_status *ret, struct un_error *err) {
        struct host h = { .root_fd = -EBADF };
        _cleanup_free_ char *path = node_runtime_path(n, "status.json"), *text = NULL;
        int r;

        if (!path)
                return un_error(err, ENOMEM, "status of node %s", n->name);
        r = host_init(&h, "/", err);
        if (r < 0)
                return r;
        r = host_read_file(&h, path, NODE_STATUS_MAX, &text, NULL);
        host_done(&h);
        if (r < 0)
                return un_error(err, -r, "cannot read %s", path);
        r = node_status_parse(text, ret);
        if (r < 0)
                return un_error(err, -r, "malformed %s", path);
        return 0;
}

int node_port_parse(const char *s, struct node_port *ret) {
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = NULL;
        struct node_port p = { .proto = "tcp", .host_ip = "127.0.0.1", .id = -1 };
        const char *host_port, *node_port;
        char *slash;
        uint32_t v;
        size_t n;

        if (strlen(s) > 80)
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        slash = strchr(copy, '/');
        if (slash) {
                *slash = '\0';
                if (strcmp(slash + 1, "tcp") != 0 && strcmp(slash + 1, "udp") != 0)
                        return -EINVAL;
                strcpy(p.proto, slash + 1);
        }
        if (strv_split(copy, ":", &parts) < 0)
                return -ENOMEM;
        n = strv_length(parts);
        /* Empty fields ("::80") are dropped by strv_split: recount the colons to refuse them. */
        if (n < 2 || n > 3 || strspn(copy, "0123456789.:") != strlen(copy) || strstr(copy, "::"))
                return -EINVAL;
        if (n == 3) {
                struct in_addr a;

                if (strlen(parts[0]) >= sizeof p.host_ip || inet_pton(AF_INET, parts[0], &a) != 1)
                        return -EINVAL;
                strcpy(p.host_ip, parts[0]);
        }
        host_port = parts[n - 2];
        node_port = parts[n - 1];
        if (parse_u32(host_port, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        p.host_port = (uint16_t) v;
        if (parse_u32(node_port, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        p.node_port = (uint16_t) v;
        *ret = p;
        return 0;
}

int node_supervisor_pidfd(const struct node *n, pid_t pid) {
        _cleanup_free_ char *lock = node_runtime_path(n, "lock");
        _cleanup_close_ int pidfd = -EBADF, lfd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        struct stat want, st;
        struct dirent *de;
        char path[64];

        if (!lock || pid <= 0)
                return -EINVAL;
        lfd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (lfd < 0 || fstat(lfd, &want) < 0)
                return -errno;
        /* The pidfd first: whatever we verify below is then the process we will signal, not a PID reused since. */
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return -errno;
        snprintf(path, sizeof path, "/proc/%d", (int) pid);
        if (stat(path, &st) < 0 || st.st_uid != getuid())
                return -EPERM;
        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char fd_path[96];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(fd_path, sizeof fd_path, "/proc/%d/fd/%.16s", (int) pid, de->d_name);
                if (stat(fd_path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
                        return TAKE_FD(pidfd);
        }
        return -ESRCH;
}

char *node_log_last_match(const char *path, const char *(*match)(const char *line), size_t max) {
        _cleanup_free_ char *text = NULL;
        struct host h = { .root_fd = -EBADF };
        char *found = NULL, *cursor, *line;

        if (host_init(&h, "/", NULL) < 0)
                return NULL;
        if (host_read_file(&h, path, NODE_LOG_READ_MAX, &text, NULL) < 0) {
                host_done(&h);
                return NULL;
        }
        host_done(&h);
        cursor = text;
        while ((line = line_next(&cursor, 64 * 1024, NULL))) {
                const char *m = match(line);

                if (m) {
                        free(found);
                        found = strndup(m, max);
                }
        }
        return found;
}
